# Charging control: pilot, contactor, limits (profiles, demand response, fleet), faults.
