package transport

// SeedRequests lets the node-level fuzz target (package transport_test)
// start from the decoders' seeds.
var SeedRequests = seedRequests
