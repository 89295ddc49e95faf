package lambdaext

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestInvocations(t *testing.T) {
	var iv Invocations
	iv.Finished("a") // the handler may finish before the extension sees INVOKE
	if !iv.wait(context.Background(), "a") {
		t.Fatal("a finished first: not seen")
	}
	go func() { time.Sleep(20 * time.Millisecond); iv.Finished("b") }()
	if !iv.wait(context.Background(), "b") {
		t.Fatal("b finished later: not seen")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if iv.wait(ctx, "c") {
		t.Fatal("c never finished but was seen")
	}
	iv.Finished("b") // twice: no panic
	for i := 0; i < 3000; i++ {
		iv.Finished(fmt.Sprint("lost-", i)) // nobody waits: bounded
	}
	if len(iv.done) > 1025 {
		t.Fatalf("%d finished invocations held", len(iv.done))
	}
}

func TestRegisterErrors(t *testing.T) {
	if _, err := Register(context.Background(), "", "x"); err == nil {
		t.Fatal("registered without a runtime API")
	}
	if _, err := Register(context.Background(), "127.0.0.1:1", "x", Invoke); err == nil {
		t.Fatal("registered against nothing")
	}
}
