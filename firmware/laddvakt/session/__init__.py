# Sessions: the tracker (pilot and energy in, start and end out) and continuity on flash.
