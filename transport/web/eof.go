package web

import "io"

var errEOF = io.EOF
