# The technician's serial console.
