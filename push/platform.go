package push

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// APNs sends through Apple's HTTP/2 provider API with token auth: one
// request per device token, an ES256 JWT (iss = TeamID, kid = KeyID)
// renewed every 50 minutes. Tokens answered 410 (Unregistered) or 400
// BadDeviceToken are reported invalid.
type APNs struct {
	BaseURL string // https://api.push.apple.com (tests: a local HTTP/2 server)
	Topic   string // the app's bundle id
	TeamID  string
	KeyID   string
	Key     *ecdsa.PrivateKey
	Client  *http.Client // must speak HTTP/2 for Apple
	// Localized: the app's Localizable.strings holds the node's keys
	// (words.go), so its words are sent as loc-key and loc-args for the
	// phone to show in its own language. iOS shows a key it lacks as is.
	Localized bool

	mu     sync.Mutex
	jwt    string
	jwtAt  time.Time
	nowFor func() time.Time
}

// APNsPayload is the body Apple receives; localized: the node's words
// as a key of the app's strings (APNs.Localized).
func APNsPayload(n Notification, localized bool) ([]byte, error) {
	alert := map[string]any{"title": n.Title(), "body": n.body()}
	if n.ConvTitle != "" {
		alert["subtitle"] = n.ConvTitle
	}
	if w, ok := n.words(); ok && localized {
		alert["loc-key"], alert["loc-args"] = w.Key, argsOf(w)
	}
	aps := map[string]any{"alert": alert, "badge": n.Badge, "thread-id": n.Conv, "sound": "default"}
	apsPresentation(aps, n)
	payload := map[string]any{"aps": aps, "conv": n.Conv, "seq": n.Seq, "count": n.Count}
	if n.Kind != "" {
		payload["kind"] = n.Kind // the app opens the group's requests, not a message
	}
	if n.ExpiresAtMs != 0 {
		payload["expires_at_ms"] = n.ExpiresAtMs // the app takes it off the screen then
	}
	return json.Marshal(payload)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// token returns the provider JWT, renewed before Apple's one-hour limit.
func (a *APNs) token() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if a.nowFor != nil {
		now = a.nowFor()
	}
	if a.jwt != "" && now.Sub(a.jwtAt) < 50*time.Minute {
		return a.jwt, nil
	}
	if a.Key == nil || a.TeamID == "" || a.KeyID == "" {
		return "", fmt.Errorf("%w: APNs needs TeamID, KeyID and Key", ErrPermanent)
	}
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": a.KeyID})
	c, _ := json.Marshal(map[string]any{"iss": a.TeamID, "iat": now.Unix()})
	signing := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, a.Key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	a.jwt, a.jwtAt = signing+"."+b64(sig), now
	return a.jwt, nil
}

// VerifyES256 checks a JWT's ES256 signature (for tests and receivers).
func VerifyES256(pub *ecdsa.PublicKey, jwt string) bool {
	i := bytes.LastIndexByte([]byte(jwt), '.')
	if i < 0 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(jwt[i+1:])
	if err != nil || len(sig) != 64 {
		return false
	}
	sum := sha256.Sum256([]byte(jwt[:i]))
	return ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// Send posts n to every token; it fails only if no token was delivered
// and some failure was not an invalid token.
func (a *APNs) Send(ctx context.Context, n Notification) (Result, error) {
	if n.Kind == KindCallEnded {
		return a.sendCallEnded(ctx, n)
	}
	body, err := APNsPayload(n, a.Localized)
	if err != nil {
		return Result{}, err
	}
	return a.post(ctx, n, body, func(h http.Header) {
		h.Set("apns-topic", a.Topic)
		h.Set("apns-push-type", "alert")
		h.Set("apns-collapse-id", n.Conv) // coalesced on the device too
	})
}

// VoIP is the gateway for calls ringing an iOS device that registered
// its PushKit token (storage.PushToken.VoIPToken): Apple wakes the app,
// which must report the call to CallKit at once (iOS ends an app that
// does not), so the phone rings as for a call, not a notification.
// Dispatcher.Gateways[PlatformVoIP].
func (a *APNs) VoIP() Gateway { return apnsVoIP{a} }

type apnsVoIP struct{ a *APNs }

// VoIPPayload is the body of a call's VoIP push: no alert (the app
// shows the call), what the app needs to report it and to join it.
func VoIPPayload(n Notification) ([]byte, error) {
	// caller_name: what CallKit shows (the caller's profile name, else id).
	p := map[string]any{"aps": map[string]any{}, "kind": n.Kind, "conv": n.Conv, "call_id": n.CallID, "video": n.Video,
		"caller": n.From, "caller_name": n.Title()}
	if n.ConvTitle != "" {
		p["conv_title"] = n.ConvTitle
	}
	if n.ExpiresAtMs != 0 {
		p["expires_at_ms"] = n.ExpiresAtMs // it stops ringing then
	}
	return json.Marshal(p)
}

func (v apnsVoIP) Send(ctx context.Context, n Notification) (Result, error) {
	body, err := VoIPPayload(n)
	if err != nil {
		return Result{}, err
	}
	return v.a.post(ctx, n, body, func(h http.Header) {
		h.Set("apns-topic", v.a.Topic+".voip") // Apple's topic for the app's PushKit pushes
		h.Set("apns-push-type", "voip")
		h.Set("apns-priority", "10")
	})
}

// CallEndedPayload is what tells an app that a call its phone rings for
// stopped ringing (KindCallEnded): the call and why, nothing to show. An
// app that rang with CallKit ends that call; one that showed the
// "Incoming call" alert takes it off the screen.
func CallEndedPayload(n Notification) ([]byte, error) {
	return json.Marshal(map[string]any{"aps": map[string]any{"content-available": 1}, "kind": n.Kind, "conv": n.Conv,
		"call_id": n.CallID, "outcome": n.Outcome})
}

// sendCallEnded sends a background push, never a VoIP one: iOS requires
// every VoIP push to report a new call to CallKit. Apple takes a
// background push only at priority 5.
func (a *APNs) sendCallEnded(ctx context.Context, n Notification) (Result, error) {
	body, err := CallEndedPayload(n)
	if err != nil {
		return Result{}, err
	}
	return a.post(ctx, n, body, func(h http.Header) {
		h.Set("apns-topic", a.Topic)
		h.Set("apns-push-type", "background")
		h.Set("apns-priority", "5")
	})
}

// post sends body to each of n's tokens, with the headers set adds.
func (a *APNs) post(ctx context.Context, n Notification, body []byte, set func(http.Header)) (Result, error) {
	jwt, err := a.token()
	if err != nil {
		return Result{}, err
	}
	var res Result
	var last error
	for _, tok := range n.Tokens {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.BaseURL+"/3/device/"+url.PathEscape(tok), bytes.NewReader(body))
		if err != nil {
			return res, fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		req.Header.Set("authorization", "bearer "+jwt)
		set(req.Header)
		if n.ExpiresAtMs != 0 {
			// Apple stores it for a phone that is off only until then.
			req.Header.Set("apns-expiration", strconv.FormatInt(n.ExpiresAtMs/1000, 10))
		}
		if n.ID != "" {
			req.Header.Set("apns-id", uuidFrom(n.ID+"/"+tok))
		}
		resp, err := a.Client.Do(req)
		if err != nil {
			last = fmt.Errorf("apns: %w", err)
			continue
		}
		rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		var reason struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(rb, &reason)
		switch {
		case resp.StatusCode == http.StatusOK:
		case resp.StatusCode == http.StatusGone || reason.Reason == "BadDeviceToken" || reason.Reason == "Unregistered":
			res.InvalidTokens = append(res.InvalidTokens, tok)
		default:
			last = fmt.Errorf("apns: status %d %s", resp.StatusCode, reason.Reason)
		}
	}
	return res, last
}

// uuidFrom derives a stable UUID-shaped apns-id from s.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// FCM sends through Firebase Cloud Messaging's HTTP v1 API, one request
// per token. TokenSource returns the OAuth2 access token (the service
// account flow is the deployment's). Tokens answered UNREGISTERED (404) or
// INVALID_ARGUMENT about the token are reported invalid.
type FCM struct {
	BaseURL     string // https://fcm.googleapis.com
	Project     string
	TokenSource func(context.Context) (string, error)
	Client      *http.Client
	// Localized: the app's string resources hold the node's keys
	// (words.go); as APNs.Localized. Android shows the body for a key it
	// lacks.
	Localized bool
	// CallsAsData: a ringing call reaches Android as a data message at
	// high priority (FCMCallPayload), for the app to ring with its own
	// full-screen call screen; iPhones on FCM still get the alert.
	CallsAsData bool
}

// FCMPayload is the v1 request body for one device token; localized:
// the node's words as a key of the app's strings (FCM.Localized).
func FCMPayload(n Notification, token string, localized bool) ([]byte, error) {
	body := n.body()
	data := map[string]string{"conv": n.Conv, "seq": strconv.FormatUint(n.Seq, 10), "count": strconv.Itoa(n.Count)}
	if n.Kind != "" {
		data["kind"] = n.Kind
	}
	p := presentationOf(n)
	android := map[string]any{"collapse_key": n.Conv, "notification": map[string]any{"notification_count": n.Badge, "tag": n.Conv, "channel_id": p.channel}}
	if p.urgent {
		android["priority"] = "HIGH"
	}
	aps := map[string]any{"badge": n.Badge, "thread-id": n.Conv}
	apsPresentation(aps, n)
	apns := map[string]any{"payload": map[string]any{"aps": aps}}
	if w, ok := n.words(); ok && localized {
		notification := android["notification"].(map[string]any)
		notification["body_loc_key"], notification["body_loc_args"] = w.Key, argsOf(w)
		// An alert of the APNs payload replaces the notification's.
		aps["alert"] = map[string]any{"title": n.Heading(), "body": body, "loc-key": w.Key, "loc-args": argsOf(w)}
	}
	if n.ExpiresAtMs != 0 {
		// Kept for a phone that is off only until its messages disappear.
		data["expires_at_ms"] = strconv.FormatInt(n.ExpiresAtMs, 10)
		android["ttl"] = fcmTTL(n.ExpiresAtMs, time.Now())
		apns["headers"] = map[string]string{"apns-expiration": strconv.FormatInt(n.ExpiresAtMs/1000, 10)}
	}
	return json.Marshal(map[string]any{"message": map[string]any{
		"token":        token,
		"notification": map[string]string{"title": n.Heading(), "body": body},
		"android":      android,
		"apns":         apns,
		"data":         data,
	}})
}

// FCMCallPayload is a ringing call as FCM.CallsAsData sends it: no
// notification for Android to show itself (it would, and the app would
// not run), the call in the data for the app's FirebaseMessagingService,
// at high priority and not after the ring ends; the apns block keeps the
// alert for an iPhone.
func FCMCallPayload(n Notification, token string, localized bool) ([]byte, error) {
	data := map[string]string{"kind": n.Kind, "conv": n.Conv, "call_id": n.CallID, "video": strconv.FormatBool(n.Video),
		"caller": n.From, "caller_name": n.Title()}
	android := map[string]any{"priority": "HIGH"}
	alert := map[string]any{"title": n.Heading(), "body": n.body()}
	if w, ok := n.words(); ok && localized {
		alert["loc-key"], alert["loc-args"] = w.Key, argsOf(w)
	}
	aps := map[string]any{"alert": alert, "badge": n.Badge, "thread-id": n.Conv, "sound": "default"}
	apsPresentation(aps, n)
	apns := map[string]any{"payload": map[string]any{"aps": aps}}
	if n.ExpiresAtMs != 0 {
		data["expires_at_ms"] = strconv.FormatInt(n.ExpiresAtMs, 10)
		android["ttl"] = fcmTTL(n.ExpiresAtMs, time.Now())
		apns["headers"] = map[string]string{"apns-expiration": strconv.FormatInt(n.ExpiresAtMs/1000, 10)}
	}
	return json.Marshal(map[string]any{"message": map[string]any{"token": token, "android": android, "apns": apns, "data": data}})
}

// FCMCallEndedPayload tells the app that a call stopped ringing
// (KindCallEnded) in a data message, which Android hands to the app's
// FirebaseMessagingService and shows nothing of: the app stops its call
// screen, or cancels the "Incoming call" notification (its tag is the
// conversation). At high priority when calls ring as data messages
// (callsAsData): the phone is ringing now. iPhones on FCM get it as a
// background push.
func FCMCallEndedPayload(n Notification, token string, callsAsData bool) ([]byte, error) {
	data := map[string]string{"kind": n.Kind, "conv": n.Conv, "call_id": n.CallID, "outcome": n.Outcome}
	android := map[string]any{"priority": "NORMAL"}
	if callsAsData {
		android["priority"] = "HIGH"
	}
	apns := map[string]any{"headers": map[string]string{"apns-push-type": "background", "apns-priority": "5"},
		"payload": map[string]any{"aps": map[string]any{"content-available": 1}}}
	if n.ExpiresAtMs != 0 {
		android["ttl"] = fcmTTL(n.ExpiresAtMs, time.Now())
		apns["headers"].(map[string]string)["apns-expiration"] = strconv.FormatInt(n.ExpiresAtMs/1000, 10)
	}
	return json.Marshal(map[string]any{"message": map[string]any{"token": token, "android": android, "apns": apns, "data": data}})
}

// argsOf is w's arguments as the platforms take them: a list, never null.
func argsOf(w Words) []string {
	if w.Args == nil {
		return []string{}
	}
	return w.Args
}

// fcmTTL is FCM's android.ttl for a notification that expires at atMs:
// the whole seconds left ("0s", FCM's "now or never", once it passed).
func fcmTTL(atMs int64, now time.Time) string {
	left := max(atMs-now.UnixMilli(), 0) / 1000
	return strconv.FormatInt(left, 10) + "s"
}

// Send posts n to every token (see FCM).
func (f *FCM) Send(ctx context.Context, n Notification) (Result, error) {
	if f.TokenSource == nil || f.Project == "" {
		return Result{}, fmt.Errorf("%w: FCM needs Project and TokenSource", ErrPermanent)
	}
	bearer, err := f.TokenSource(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("fcm token: %w", err)
	}
	var res Result
	var last error
	for _, tok := range n.Tokens {
		payload := FCMPayload
		switch {
		case f.CallsAsData && n.Kind == KindCall:
			payload = FCMCallPayload
		case n.Kind == KindCallEnded:
			payload = func(n Notification, token string, _ bool) ([]byte, error) {
				return FCMCallEndedPayload(n, token, f.CallsAsData)
			}
		}
		body, err := payload(n, tok, f.Localized)
		if err != nil {
			return res, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.BaseURL+"/v1/projects/"+url.PathEscape(f.Project)+"/messages:send", bytes.NewReader(body))
		if err != nil {
			return res, fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := f.Client.Do(req)
		if err != nil {
			last = fmt.Errorf("fcm: %w", err)
			continue
		}
		rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		var e struct {
			Error struct {
				Status  string `json:"status"`
				Details []struct {
					ErrorCode string `json:"errorCode"`
				} `json:"details"`
			} `json:"error"`
		}
		_ = json.Unmarshal(rb, &e)
		code := e.Error.Status
		for _, d := range e.Error.Details {
			if d.ErrorCode != "" {
				code = d.ErrorCode
			}
		}
		switch {
		case resp.StatusCode == http.StatusOK:
		case code == "UNREGISTERED" || (resp.StatusCode == http.StatusBadRequest && code == "INVALID_ARGUMENT"):
			res.InvalidTokens = append(res.InvalidTokens, tok)
		default:
			last = fmt.Errorf("fcm: status %d %s", resp.StatusCode, code)
		}
	}
	return res, last
}

// The gateways share one interface.
var (
	_ Gateway = (*Webhook)(nil)
	_ Gateway = (*APNs)(nil)
	_ Gateway = (*FCM)(nil)
)
