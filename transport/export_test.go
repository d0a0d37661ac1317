package transport

// SeedRequests lets the node-level fuzz target (package transport_test)
// start from the decoders' seeds.
var SeedRequests = seedRequests

// MaxLazyFrames is how many lazy frames a connection holds before it
// writes them without waiting longer.
const MaxLazyFrames = maxLazyFrames
