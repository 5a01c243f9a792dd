# Board peripherals behind small surfaces: the CP front end and card readers.
