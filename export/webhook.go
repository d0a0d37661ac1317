package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchboard-im/switchboard/push"
)

// WebhookBatch is the body of one webhook POST: records in the order the
// exporter produced them (one key's records in order; different keys may
// interleave and arrive on concurrent POSTs).
type WebhookBatch struct {
	Records []WebhookRecord `json:"records"`
}

// WebhookRecord is one record: the Kafka topic it would have gone to, its
// key (the conversation, mostly) and the record itself, as on Kafka.
type WebhookRecord struct {
	Topic string          `json:"topic"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

var webhookPosts = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_export_webhook_posts_total",
	Help: "Export webhook POSTs by result: ok (2xx), too_large (413: the batch is sent again in halves), failed (another status or no answer; retried).",
}, []string{"result"})

func init() { prometheus.MustRegister(webhookPosts) }

// Backoff between attempts of one batch: doubled from the first to the
// last, with jitter. A receiver that is down is asked again at most every
// webhookMaxBackoff.
const (
	webhookFirstBackoff = 200 * time.Millisecond
	webhookMaxBackoff   = 30 * time.Second
)

// webhook delivers records by HTTP POST to a business's endpoint, in
// batches, signed like push notifications (push.Sign: HMAC-SHA256 over
// "<timestamp>.<body>" in X-Switchboard-Timestamp and
// X-Switchboard-Signature). Records are spread over lanes by key: a lane
// posts one batch at a time and retries a failed one until it is
// delivered, so one key's records arrive in order and a receiver that is
// down stalls the export (the stored log is the spill) instead of losing
// or reordering anything. Retries may deliver a batch twice; records carry
// event ids to dedupe on.
type webhook struct {
	url     string
	secret  []byte
	client  *http.Client
	timeout time.Duration
	batch   int
	max     int
	log     *slog.Logger

	lanes    []*lane
	buffered atomic.Int64
	closing  context.Context
	close    context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
}

type lane struct {
	mu    sync.Mutex
	queue []queued
	wake  chan struct{}
}

type queued struct {
	r       *kgo.Record
	promise func(*kgo.Record, error)
}

// checkWebhook checks the webhook's settings (WithDefaults).
func (c Config) checkWebhook() error {
	u, err := url.Parse(c.WebhookURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("export: webhook URL %q: want http(s)://host/path", c.WebhookURL)
	case len(c.Brokers) > 0:
		return errors.New("export: Kafka brokers and a webhook both configured: choose one")
	case c.Format != FormatJSON:
		return fmt.Errorf("export: the webhook sends JSON records; format %q is for Kafka", c.Format)
	case len(c.WebhookSecret) < 16:
		return errors.New("export: the webhook secret must have at least 16 bytes (the receiver checks every POST's signature)")
	}
	return nil
}

// redactedURL is raw with any password in it replaced, for the logs.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Redacted()
}

func newWebhook(cfg Config, maxBuffered int) *webhook {
	ctx, cancel := context.WithCancel(context.Background())
	w := &webhook{url: cfg.WebhookURL, secret: cfg.WebhookSecret, client: &http.Client{}, timeout: cfg.WebhookTimeout,
		batch: cfg.WebhookBatch, max: maxBuffered, log: cfg.Logger.With("component", "export-webhook"), closing: ctx, close: cancel}
	for range cfg.WebhookLanes {
		l := &lane{wake: make(chan struct{}, 1)}
		w.lanes = append(w.lanes, l)
		w.wg.Add(1)
		go w.run(l)
	}
	return w
}

// TryProduce queues r on its key's lane; it never blocks.
func (w *webhook) TryProduce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	if w.closing.Err() != nil {
		promise(r, kgo.ErrClientClosed)
		return
	}
	if w.buffered.Add(1) > int64(w.max) {
		w.buffered.Add(-1)
		promise(r, kgo.ErrMaxBuffered)
		return
	}
	h := fnv.New32a()
	h.Write(r.Key)
	l := w.lanes[h.Sum32()%uint32(len(w.lanes))]
	l.mu.Lock()
	l.queue = append(l.queue, queued{r, promise})
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// ProduceSync queues rs and waits until each is delivered or ctx ends.
func (w *webhook) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	type done struct {
		i   int
		err error
	}
	ch := make(chan done, len(rs)) // promises never block, even after a return
	results := make(kgo.ProduceResults, len(rs))
	for i, r := range rs {
		results[i] = kgo.ProduceResult{Record: r, Err: ctx.Err()}
		w.TryProduce(ctx, r, func(_ *kgo.Record, err error) { ch <- done{i, err} })
	}
	for range rs {
		select {
		case d := <-ch:
			results[d.i].Err = d.err
		case <-ctx.Done():
			return results
		}
	}
	return results
}

// Flush waits until every queued record is delivered, or ctx ends.
func (w *webhook) Flush(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for w.buffered.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Close stops the lanes; records not delivered fail with
// kgo.ErrClientClosed.
func (w *webhook) Close() {
	w.once.Do(w.close)
	w.wg.Wait()
}

func (w *webhook) run(l *lane) {
	defer w.wg.Done()
	for {
		l.mu.Lock()
		n := min(len(l.queue), w.batch)
		batch := l.queue[:n:n]
		l.mu.Unlock()
		if n == 0 {
			select {
			case <-l.wake:
				continue
			case <-w.closing.Done():
				return
			}
		}
		err := w.deliver(batch)
		l.mu.Lock()
		if err != nil { // closing: fail all that waits
			batch, l.queue = l.queue, nil
		} else {
			l.queue = l.queue[n:]
		}
		l.mu.Unlock()
		for _, q := range batch {
			q.promise(q.r, err)
		}
		w.buffered.Add(-int64(len(batch)))
		if err != nil {
			return
		}
	}
}

// deliver posts batch until the receiver takes it; it fails only when the
// webhook is closing. A batch the receiver finds too large (413) is sent
// again as its two halves, in order, down to one record; one record too
// large for the receiver is retried like any failure, so the export waits
// for the receiver's limit to be raised rather than skip it.
func (w *webhook) deliver(batch []queued) error {
	err := w.deliverWhole(batch)
	if errors.Is(err, errTooLarge) {
		half := len(batch) / 2
		if err := w.deliver(batch[:half]); err != nil {
			return err
		}
		return w.deliver(batch[half:])
	}
	return err
}

// errTooLarge: the receiver answered 413 to a batch of more than one
// record.
var errTooLarge = errors.New("export webhook: the receiver found the batch too large")

// deliverWhole posts batch as one body until the receiver takes it
// (nil), refuses it as too large while it could be split (errTooLarge),
// or the webhook closes.
func (w *webhook) deliverWhole(batch []queued) error {
	body := WebhookBatch{Records: make([]WebhookRecord, len(batch))}
	for i, q := range batch {
		body.Records[i] = WebhookRecord{Topic: q.r.Topic, Key: string(q.r.Key), Value: q.r.Value}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		// Values are the exporter's own JSON; this is a bug, not the receiver's.
		return fmt.Errorf("export webhook: encode batch: %w", err)
	}
	backoff := webhookFirstBackoff
	for attempt := 1; ; attempt++ {
		status, err := w.post(raw)
		if err == nil {
			webhookPosts.WithLabelValues("ok").Inc()
			return nil
		}
		if status == http.StatusRequestEntityTooLarge && len(batch) > 1 {
			webhookPosts.WithLabelValues("too_large").Inc()
			w.log.Info("export webhook: batch too large for the receiver; sending it in halves", "records", len(batch), "bytes", len(raw))
			return errTooLarge
		}
		webhookPosts.WithLabelValues("failed").Inc()
		failuresTotal.Inc()
		if status == http.StatusRequestEntityTooLarge {
			w.log.Error("export webhook: the receiver refuses a single record as too large; raise its body limit (the export waits until it takes it)", "bytes", len(raw), "attempt", attempt, "retry_in", backoff)
		} else {
			w.log.Warn("export webhook: POST failed; retrying", "records", len(batch), "attempt", attempt, "retry_in", backoff, "err", err)
		}
		select {
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		case <-w.closing.Done():
			return kgo.ErrClientClosed
		}
		backoff = min(2*backoff, webhookMaxBackoff)
	}
}

// post sends one body; the receiver's status (0 when none) and an error
// unless it answered 2xx.
func (w *webhook) post(body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(w.closing, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Switchboard-Timestamp", ts)
	req.Header.Set("X-Switchboard-Signature", push.Sign(w.secret, ts, body))
	res, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return res.StatusCode, fmt.Errorf("%s answered %s", redactedURL(w.url), res.Status)
	}
	return res.StatusCode, nil
}
