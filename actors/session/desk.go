package session

import "context"

// DeskHandoverResult is where a handed-over service session went.
type DeskHandoverResult struct {
	Session       string
	State         string // queued or assigned
	QueuePosition int
	Agent         string // once assigned
}

// DeskSession is implemented by sessions that serve service desk requests
// (the node's device sessions); a carrier finds it with a type assertion,
// so Session stays as it is for carriers without a desk.
type DeskSession interface {
	// DeskHandover hands the service session of conv from the robot to the
	// next step of its route; the desk checks that the user is the robot
	// or the customer.
	DeskHandover(ctx context.Context, conv string) (DeskHandoverResult, error)
}
