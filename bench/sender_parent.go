package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Limits of the sender process's phases: past them the bench stops it and
// fails instead of waiting for ever.
const (
	// senderWarmGrace is added to the warm-up timeout for the sender
	// process to start and connect its senders.
	senderWarmGrace = 2 * time.Minute
	// senderDoneGrace is added to duration + drain for its final report.
	senderDoneGrace = time.Minute
	// senderStopWait is how long a sender process may take to exit once
	// its stdin is closed before it is killed.
	senderStopWait = 5 * time.Second
	// senderStderrTail is how much of its stderr an error quotes.
	senderStderrTail = 2048
)

// SenderProcessReport describes the separate sender process of a split
// group run.
type SenderProcessReport struct {
	PID          int     `json:"pid"`
	Clients      int     `json:"clients"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	HeapBytesMax uint64  `json:"heap_bytes_max"`
}

// runRemoteTraffic is runTraffic with the senders in a process of their
// own (o.SenderExec). The senders' clients the parent used for setup are
// closed first: each sender user is connected in the child alone.
func runRemoteTraffic(ctx context.Context, t *traffic, o Options, p *pool, res *Result, errs *errCount) error {
	t.ready.Store(int64(len(t.senders)))
	rateNote(t, o, res)
	spec := senderSpec{StartUnixNano: t.start.UnixNano(), Rate: o.Rate, Duration: o.Duration, BodySize: t.bodySize,
		WarmupTimeout: 60 * time.Second, Drain: o.Drain, DialConcurrency: o.DialConcurrency}
	byIdx := map[int]*sender{}
	for _, s := range t.senders {
		spec.Senders = append(spec.Senders, senderRef{Idx: s.idx, User: s.c.User(), Conv: s.to.Conv, ToUser: s.to.User, Recipients: s.fanout})
		byIdx[s.idx] = s
	}
	sp, err := startSenderProc(o.SenderExec, spec)
	if err != nil {
		return err
	}
	defer sp.stop()
	res.Params["sender_process"] = "separate"
	res.Bench.SenderProcess = &SenderProcessReport{PID: sp.cmd.Process.Pid}
	apply := func(r *senderReport) error {
		t.c.sent.Add(r.Sent)
		t.c.acked.Add(r.Acked)
		t.c.failed.Add(r.Failed)
		t.c.refused.Add(r.RefusedBusy)
		t.c.refusedLocal.Add(r.RefusedLocal)
		t.c.expected.Add(r.Expected)
		for k, v := range r.Errors {
			errs.mu.Lock()
			errs.m[k] += v
			errs.mu.Unlock()
		}
		res.Notes = append(res.Notes, r.Notes...)
		if r.AckHist != "" {
			h, err := hdrhistogram.Decode([]byte(r.AckHist))
			if err != nil {
				return fmt.Errorf("bench: sender process: ack histogram: %w", err)
			}
			t.ack.merge(h)
		}
		return nil
	}

	r, err := sp.next(ctx, spec.WarmupTimeout+senderWarmGrace)
	if err == nil && r.Phase != "warm" {
		err = fmt.Errorf("bench: sender process: report %q where warm was due", r.Phase)
	}
	if err == nil {
		err = apply(r)
	}
	if err != nil {
		return err
	}
	if err := t.settle(ctx, spec.WarmupTimeout); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.Notes = append(res.Notes, "warm-up: "+err.Error())
	}
	smp := newSampler(o.Scenario, o.Progress, p.t.AdminURL, &t.c, t.ack, t.dlv, errs)
	smp.begin(ctx)
	began := time.Now()
	if err := sp.send(senderGo{Go: true}); err != nil {
		smp.end(context.WithoutCancel(ctx))
		return sp.failure(fmt.Errorf("write go: %w", err))
	}
	for {
		r, err := sp.next(ctx, time.Until(began.Add(o.Duration+o.Drain+senderDoneGrace)))
		if err == nil {
			err = apply(r)
		}
		if err != nil {
			smp.end(context.WithoutCancel(ctx))
			return err
		}
		if r.Phase != "done" {
			continue
		}
		for _, a := range r.AckedBits {
			if s := byIdx[a.Idx]; s != nil {
				s.mu.Lock()
				s.acked = a.Acked
				s.mu.Unlock()
			}
		}
		sr := res.Bench.SenderProcess
		sr.Clients, sr.CPUSeconds, sr.HeapBytesMax = r.Clients, r.CPUSeconds, r.HeapBytesMax
		break
	}
	// The acks are all in; the deliveries get what is left of the drain.
	if err := t.settle(ctx, max(time.Until(began.Add(o.Duration+o.Drain)), time.Second)); err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("drain (%s): %v", o.Drain, err))
	}
	elapsed := time.Since(began)
	smp.end(context.WithoutCancel(ctx))
	fillTraffic(ctx, res, t, p, elapsed, smp, errs)
	return ctx.Err()
}

// senderProc is a running sender process.
type senderProc struct {
	argv    []string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	reports chan *senderReport // closed when its stdout ends and it exited
	tail    *tailBuffer

	mu      sync.Mutex
	readErr error // a line that was not a report
	waitErr error // its exit
}

func startSenderProc(argv []string, spec senderSpec) (*senderProc, error) {
	sp := &senderProc{argv: argv, tail: &tailBuffer{max: senderStderrTail}, reports: make(chan *senderReport, 64)}
	sp.cmd = exec.Command(argv[0], argv[1:]...)
	sp.cmd.Stderr = io.MultiWriter(os.Stderr, sp.tail)
	sp.cmd.WaitDelay = senderStopWait // a lingering grandchild holding its stderr must not hang the bench
	stdout, err := sp.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: sender process: %w", err)
	}
	if sp.stdin, err = sp.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("bench: sender process: %w", err)
	}
	if err := sp.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start sender process %q: %w", strings.Join(argv, " "), err)
	}
	go sp.read(stdout)
	if err := sp.send(spec); err != nil {
		sp.stop()
		return nil, sp.failure(fmt.Errorf("write spec: %w", err))
	}
	return sp, nil
}

// read passes the reports on; at the end of stdout it waits for the exit.
func (sp *senderProc) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), maxSpecLine)
	for sc.Scan() {
		var r senderReport
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			sp.mu.Lock()
			sp.readErr = fmt.Errorf("not a report: %.200q", sc.Text())
			sp.mu.Unlock()
			break
		}
		sp.reports <- &r
		if r.Phase == "done" {
			break
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	err := sp.cmd.Wait()
	sp.mu.Lock()
	sp.waitErr = err
	sp.mu.Unlock()
	close(sp.reports)
}

func (sp *senderProc) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = sp.stdin.Write(append(b, '\n'))
	return err
}

// next returns the next report, or an error when the process ended
// without one, ctx ended, or none came within timeout.
func (sp *senderProc) next(ctx context.Context, timeout time.Duration) (*senderReport, error) {
	tm := time.NewTimer(max(timeout, time.Second))
	defer tm.Stop()
	select {
	case r, ok := <-sp.reports:
		if !ok {
			return nil, sp.failure(errors.New("it ended without its report"))
		}
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-tm.C:
		return nil, sp.failure(fmt.Errorf("no report within %s", max(timeout, time.Second).Round(time.Second)))
	}
}

// failure makes the error of a failed sender process: what went wrong,
// its exit and the end of its stderr.
func (sp *senderProc) failure(what error) error {
	sp.mu.Lock()
	readErr, waitErr := sp.readErr, sp.waitErr
	sp.mu.Unlock()
	msg := fmt.Sprintf("bench: sender process %s: %v", sp.argv[0], what)
	if readErr != nil {
		msg += "; " + readErr.Error()
	}
	if waitErr != nil {
		msg += " (" + waitErr.Error() + ")"
	}
	if s := strings.TrimSpace(sp.tail.String()); s != "" {
		msg += "; its stderr ends:\n" + s
	}
	return errors.New(msg)
}

// stop closes its stdin (it then stops), kills it if it lingers and
// waits for it.
func (sp *senderProc) stop() {
	_ = sp.stdin.Close()
	tm := time.NewTimer(senderStopWait)
	defer tm.Stop()
	for {
		select {
		case _, ok := <-sp.reports:
			if !ok {
				return
			}
		case <-tm.C:
			_ = sp.cmd.Process.Kill()
			for range sp.reports {
			}
			return
		}
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
