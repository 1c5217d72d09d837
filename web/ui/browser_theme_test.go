package ui_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// emulateColorScheme makes the tab report prefers-color-scheme as scheme
// ("light" or "dark").
func emulateColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// viewportShot saves what the window shows (not the whole page).
func (b *browser) viewportShot(path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// bodyBackground is JavaScript giving the body's computed background.
const bodyBackground = `getComputedStyle(document.body).backgroundColor`

// TestBrowserTheme: the page follows the system's colour scheme, the
// header's toggle switches theme and the choice survives a reload; at
// 390 px the navigation hides behind a menu button and nothing is wider
// than the screen.
func TestBrowserTheme(t *testing.T) {
	_, url := browserServer(t)
	b := &browser{t: t, ctx: newBrowser(t), url: url}
	shots := screenshotDir(t)

	b.do("a light system", emulateColorScheme("light"))
	b.login("olivia", "olivia-password")
	if got := b.eval(bodyBackground); got != "rgb(246, 248, 250)" {
		t.Errorf("light system: body background %v, want the light rgb(246, 248, 250)", got)
	}
	if got := b.text("#theme-toggle"); got != "☾ Dark" {
		t.Errorf("the theme button reads %q in the light theme", got)
	}

	b.do("a dark system", emulateColorScheme("dark"))
	b.waitFor("the page to follow the system to dark", `document.documentElement.dataset.theme==="dark"`, 5*time.Second)
	if got := b.eval(bodyBackground); got != "rgb(13, 17, 23)" {
		t.Errorf("dark system: body background %v, want the dark rgb(13, 17, 23)", got)
	}
	if got := b.eval(`getComputedStyle(document.querySelector("table.dags")).backgroundColor`); got != "rgb(22, 27, 34)" {
		t.Errorf("dark system: the DAG table is %v, want the dark surface rgb(22, 27, 34)", got)
	}
	dark := filepath.Join(shots, "dark.png")
	b.do("the full window", chromedp.EmulateViewport(1280, 720))
	b.viewportShot(dark)
	keepInDocs(t, dark, "screenshot-dark.png")

	t.Log("the toggle stores light over the dark system, kept across a reload")
	b.do("press the theme button", chromedp.Click(chromedp.CSS("#theme-toggle")))
	if got := b.eval(bodyBackground); got != "rgb(246, 248, 250)" {
		t.Errorf("after the toggle: body background %v, want light", got)
	}
	if got := b.eval(`document.querySelector("#theme-toggle").getAttribute("aria-pressed")`); got != "false" {
		t.Errorf("the theme button is aria-pressed=%v in the light theme", got)
	}
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("table.dags")))
	if got := b.eval(bodyBackground); got != "rgb(246, 248, 250)" {
		t.Errorf("after a reload: body background %v, want the stored light", got)
	}
	b.do("press the theme button again", chromedp.Click(chromedp.CSS("#theme-toggle")))
	if got := b.eval(`localStorage.getItem("starflow-theme")`); got != "dark" {
		t.Errorf("the stored theme is %v, want dark", got)
	}
	if got := b.eval(bodyBackground); got != "rgb(13, 17, 23)" {
		t.Errorf("after the second toggle: body background %v, want dark", got)
	}

	t.Log("a 390 px phone: a menu button, no sideways scrolling")
	b.do("a phone", emulateColorScheme("light"), chromedp.Evaluate[chromedp.Void](`localStorage.removeItem("starflow-theme")`),
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("table.dags")))
	if got := b.eval(`getComputedStyle(document.querySelector("header nav")).display`); got != "none" {
		t.Errorf("at 390 px the navigation is display:%v, want hidden behind the menu", got)
	}
	b.do("open the menu", chromedp.Click(chromedp.CSS("#menu-button")), chromedp.WaitVisible(chromedp.CSS(`header nav a[href="/variables"]`)))
	if got := b.eval(`document.querySelector("#menu-button").getAttribute("aria-expanded")`); got != "true" {
		t.Errorf("the open menu button is aria-expanded=%v", got)
	}
	if got := b.eval(`document.documentElement.scrollWidth`); got.(float64) > 390 {
		t.Errorf("the DAG list is %v px wide at 390 px: the page scrolls sideways", got)
	}
	phone := filepath.Join(shots, "phone.png")
	b.viewportShot(phone)
	keepInDocs(t, phone, "screenshot-phone.png")
	b.do("open Variables from the menu", chromedp.Click(chromedp.CSS(`header nav a[href="/variables"]`)), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := b.eval(`getComputedStyle(document.querySelector("header nav")).display`); got != "none" {
		t.Errorf("the menu stays open on the next page (display:%v)", got)
	}
}
