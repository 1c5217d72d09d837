package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserUsers drives the users pages in Chromium as an admin: create
// a user with a role, change its role, deactivate it (its open session
// ends, its login is refused) and activate it again, and delete it through the
// JavaScript confirmation (declined once, then accepted).
func TestBrowserUsers(t *testing.T) {
	e, url := browserServer(t)
	b := &browser{t: t, ctx: newBrowser(t), url: url}
	b.login("ada", "ada-password")

	b.do("create a user",
		chromedp.Click(chromedp.CSS(`header nav a[href="/users"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.users")),
		chromedp.Click(chromedp.CSS("a.new-button")),
		chromedp.WaitVisible(chromedp.CSS("form.user-form")),
		chromedp.SendKeys(chromedp.CSS("#f-username"), "dora"),
		chromedp.SetValue(chromedp.CSS("#f-role"), "op"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "dora-password-1"),
		chromedp.Click(chromedp.CSS("button.save-button")),
		chromedp.WaitVisible(chromedp.CSS(`table.users tr[data-user="dora"]`)),
	)
	if got := b.text(`tr[data-user="dora"]`); !strings.Contains(got, "op") {
		t.Errorf("dora's row reads %q", got)
	}
	b.do("make dora a viewer",
		chromedp.Click(chromedp.CSS(`tr[data-user="dora"] a.edit-button`)),
		chromedp.WaitVisible(chromedp.CSS("#f-role")),
		chromedp.SetValue(chromedp.CSS("#f-role"), "viewer"),
		chromedp.Click(chromedp.CSS("button.save-button")),
		chromedp.WaitVisible(chromedp.CSS(`table.users tr[data-user="dora"]`)),
	)
	if got := b.text(`tr[data-user="dora"]`); !strings.Contains(got, "viewer") {
		t.Errorf("after the role change dora's row reads %q", got)
	}

	// Dora logs in in a separate browser context (its own cookies); ada
	// deactivates her: dora's next page is the login page, her password
	// is refused, and after the reactivation she logs in again.
	dctx, cancelDora := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	defer cancelDora()
	dora := &browser{t: t, ctx: dctx, url: url}
	dora.login("dora", "dora-password-1")
	b.do("deactivate dora",
		chromedp.Click(chromedp.CSS(`tr[data-user="dora"] button.deactivate-button`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user="dora"] button.activate-button`)),
	)
	if got := b.text(`tr[data-user="dora"] td.user-active`); got != "deactivated" {
		t.Errorf("dora's active cell reads %q after the deactivation", got)
	}
	if b.count(`tr[data-user="ada"] button.deactivate-button`) != 0 {
		t.Error("ada is offered to deactivate herself")
	}
	dora.do("dora's next page", chromedp.Navigate(url+"/dags"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	dora.do("dora logs in while deactivated",
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "dora"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "dora-password-1"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")),
	)
	if got := dora.text("#login-error"); !strings.Contains(got, "Invalid username or password") {
		t.Errorf("a deactivated dora's login says %q", got)
	}
	b.do("activate dora",
		chromedp.Click(chromedp.CSS(`tr[data-user="dora"] button.activate-button`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user="dora"] button.deactivate-button`)),
	)
	dora.login("dora", "dora-password-1")
	if u, err := e.store.UserGet(context.Background(), "dora"); err != nil || !u.Active || u.DeactivatedAt.IsZero() {
		t.Errorf("dora after the round trip: %+v, %v", u, err)
	}

	b.do("decline the delete", chromedp.Evaluate[chromedp.Void](`window.confirm = function (m) { window.asked = m; return false; }`),
		chromedp.Click(chromedp.CSS(`tr[data-user="dora"] button.delete-button`)))
	if got := b.eval(`window.asked`); got != "Delete user dora and its API tokens?" {
		t.Errorf("the confirmation asked %v", got)
	}
	if _, err := e.store.UserGet(context.Background(), "dora"); err != nil {
		t.Fatalf("a declined delete deleted dora: %v", err)
	}
	b.do("accept the delete", chromedp.Evaluate[chromedp.Void](`window.confirm = function () { return true; }`),
		chromedp.Click(chromedp.CSS(`tr[data-user="dora"] button.delete-button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-user="dora"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.users")),
	)
	if _, err := e.store.UserGet(context.Background(), "dora"); err == nil {
		t.Error("dora is still in the store")
	}
	b.do("open the audit log", chromedp.Navigate(url+"/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	got := b.text("table.audit")
	for _, want := range []string{"user.create", "user.edit", "role=op→viewer", "username=dora active=false", "username=dora active=true", "user.delete"} {
		if !strings.Contains(got, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
}
