"""What the simulation, the tests and the bench run against: an MQTT broker, a PostgreSQL
server, a Modbus meter on a pty, a faulty network (tcpproxy) and throwaway TLS certificates."""
