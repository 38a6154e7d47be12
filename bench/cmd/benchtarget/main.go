// Command benchtarget is a bare fasthttp server for calibrating load
// generators: it answers every request with a small JSON body, after an
// optional fixed delay, so `recotem bench` and other tools (wrk) can be
// compared against the same server. It serves only on the address given
// (default 127.0.0.1:18080) and exits on SIGINT/SIGTERM.
//
//	go run ./bench/cmd/benchtarget --addr 127.0.0.1:18080 --delay 0
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	delay := flag.Duration("delay", 0, "time each request takes")
	flag.Parse()
	body := []byte(`{"items":[{"item_id":"1","score":1.0}],"request_id":"bench"}`)
	h := func(ctx *fasthttp.RequestCtx) {
		if *delay > 0 {
			time.Sleep(*delay)
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtarget:", err)
		os.Exit(1)
	}
	srv := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true}
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		<-c
		srv.Shutdown() //nolint:errcheck
	}()
	fmt.Fprintln(os.Stderr, "benchtarget: listening on", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "benchtarget:", err)
		os.Exit(1)
	}
}
