package admin_test

import (
	"net/http"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/cluster/admin"
)

// TestServerProfiles: a business copies a user's name and picture from
// its directory, one field at a time; a bad URL is 400 and changes
// nothing; the moderators' view of the user shows it; erasing the
// account clears the profile.
func TestServerProfiles(t *testing.T) {
	_, call := startAdminNode(t, actors.Config{}, admin.Config{})
	const tok = "s3cret"
	call(http.MethodGet, "/api/v1/users/ann/profile", "", "", http.StatusUnauthorized, nil)
	var p admin.Profile
	call(http.MethodGet, "/api/v1/users/ann/profile", tok, "", http.StatusOK, &p)
	if p.User != "ann" || p.Name != "" || p.UpdatedMs != 0 {
		t.Fatalf("a profile never set: %+v", p)
	}
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"name":"Ann Kowalski"}`, http.StatusOK, &p)
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"avatar_url":"https://img.example/ann.png"}`, http.StatusOK, &p)
	if p.Name != "Ann Kowalski" || p.AvatarURL != "https://img.example/ann.png" || p.UpdatedMs == 0 {
		t.Fatalf("after a name, then an avatar: %+v", p)
	}
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"avatar_url":"ftp://img.example/ann.png"}`, http.StatusBadRequest, nil)
	call(http.MethodPut, "/api/v1/users/ann/profile", tok, `{"name":`, http.StatusBadRequest, nil)
	call(http.MethodPut, "/api/v1/users/a%20b/profile", tok, `{"name":"x"}`, http.StatusBadRequest, nil)
	call(http.MethodGet, "/api/v1/users/ann/profile", tok, "", http.StatusOK, &p)
	if p.AvatarURL != "https://img.example/ann.png" {
		t.Fatalf("a refused change changed the profile: %+v", p)
	}
	var st admin.UserStatus
	call(http.MethodGet, "/api/v1/users/ann", tok, "", http.StatusOK, &st)
	if st.Name != "Ann Kowalski" || st.AvatarURL != "https://img.example/ann.png" {
		t.Fatalf("the moderators' view of ann: %+v, want her name and picture", st)
	}
	var e admin.Erasure
	call(http.MethodPost, "/api/v1/users/ann/erase", tok, "", http.StatusOK, &e)
	call(http.MethodGet, "/api/v1/users/ann/profile", tok, "", http.StatusOK, &p)
	if !e.Done || p.Name != "" || p.AvatarURL != "" {
		t.Fatalf("after the erasure (%+v): %+v, want no name and no avatar", e, p)
	}
}
