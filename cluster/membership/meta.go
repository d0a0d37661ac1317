package membership

//go:generate protoc --go_out=. --go_opt=paths=source_relative meta.proto

import (
	"errors"
	"fmt"
	"math"

	"github.com/asynkron/protoactor-go/cluster"
	hcml "github.com/hashicorp/memberlist"
	"google.golang.org/protobuf/proto"
)

// ErrMetaTooLarge reports node metadata above memberlist's MetaMaxSize,
// usually because the node registers too many or too long kind names.
var ErrMetaTooLarge = errors.New("node metadata exceeds memberlist limit")

// encodeMeta encodes the node metadata and checks it against memberlist's
// limit, which memberlist itself would enforce with a panic.
func encodeMeta(m *NodeMeta) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode node metadata: %w", err)
	}
	if len(b) > hcml.MetaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes > %d (%d kinds); register fewer or shorter kinds",
			ErrMetaTooLarge, len(b), hcml.MetaMaxSize, len(m.GetKinds()))
	}
	return b, nil
}

// decodeMember turns the metadata of memberlist node name into a protoactor
// member, checking that it is complete and belongs to that node. It also
// reports whether the node is a client.
func decodeMember(name string, meta []byte) (*cluster.Member, bool, error) {
	if len(meta) == 0 {
		return nil, false, errors.New("no metadata")
	}
	var m NodeMeta
	if err := proto.Unmarshal(meta, &m); err != nil {
		return nil, false, fmt.Errorf("decode metadata: %w", err)
	}
	switch {
	case m.GetMemberId() != name:
		return nil, false, fmt.Errorf("metadata member id %q differs from node name", m.GetMemberId())
	case m.GetHost() == "":
		return nil, false, errors.New("metadata has no host")
	case m.GetPort() <= 0 || m.GetPort() > math.MaxUint16:
		return nil, false, fmt.Errorf("metadata port %d out of range", m.GetPort())
	}
	return &cluster.Member{
		Id:    m.GetMemberId(),
		Host:  m.GetHost(),
		Port:  m.GetPort(),
		Kinds: m.GetKinds(),
	}, m.GetClient(), nil
}
