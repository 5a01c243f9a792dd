# Billing: tariffs and spot prices, a session's running cost in integers, signed records.
