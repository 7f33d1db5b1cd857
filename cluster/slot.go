package cluster

// Slots is the number of hash slots, as in Redis Cluster.
const Slots = 16384
