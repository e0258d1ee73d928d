// Module ZooKeeperWire
