// Go's side of bench/peers: goroutines and channels, the same problems as
// brigade/brigade_peer.cpp and the other peers, one output line per figure:
//
//	case=<name> peer=go value=<number> unit=<unit>
//
// Usage: go_peer <case> [n]. GOMAXPROCS is the machine's (2 here) unless the
// driver sets it (the echo server runs with GOMAXPROCS=1, pinned to a core).
package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const peer = "go"
const contenders = 4

func report(name string, value float64, unit string) {
	fmt.Printf("case=%s peer=%s value=%.6f unit=%s\n", name, peer, value, unit)
}

func per(start time.Time, n int) float64 {
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func statmRSS() int64 {
	b, _ := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func peakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kib, _ := strconv.ParseInt(f[1], 10, 64)
			return kib * 1024
		}
	}
	return 0
}

// Goroutines have no join handle: a WaitGroup is Go's join.
func spawnJoinRound(n int) float64 {
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
	}
	wg.Wait()
	return per(start, n)
}

func fib(n int) int {
	if n < 2 {
		return n
	}
	ch := make(chan int, 1)
	go func() { ch <- fib(n - 1) }()
	b := fib(n - 2)
	return <-ch + b
}

func echoConn(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 65536)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go_peer <case> [n]")
		os.Exit(2)
	}
	arg := func(def int) int {
		if len(os.Args) > 2 {
			if v, err := strconv.Atoi(os.Args[2]); err == nil {
				return v
			}
		}
		return def
	}
	switch os.Args[1] {
	case "spawn_join":
		n := arg(1000000)
		cold := spawnJoinRound(n)
		warm := spawnJoinRound(n)
		report("spawn_join_cold", cold, "ns")
		report("spawn_join_warm", warm, "ns")
	case "yield":
		n := arg(1000000)
		for i := 0; i < n/10; i++ {
			runtime.Gosched()
		}
		start := time.Now()
		for i := 0; i < n; i++ {
			runtime.Gosched()
		}
		report("yield", per(start, n), "ns")
	case "fib":
		n := arg(30)
		start := time.Now()
		v := fib(n)
		ms := float64(time.Since(start).Nanoseconds()) / 1e6
		if n == 30 && v != 832040 {
			fmt.Fprintln(os.Stderr, "fib(30) wrong")
		}
		report("fib30", ms, "ms")
	case "idle_bytes":
		// The cheapest wait: a receive on a channel that is closed at the end.
		n := arg(100000)
		gate := make(chan struct{})
		var parked int64
		var wg sync.WaitGroup
		before := statmRSS()
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				atomic.AddInt64(&parked, 1)
				<-gate
				wg.Done()
			}()
		}
		for atomic.LoadInt64(&parked) < int64(n) {
			runtime.Gosched()
		}
		after := statmRSS()
		close(gate)
		wg.Wait()
		report("idle_bytes", float64(after-before)/float64(n), "bytes")
	case "idle_timer_bytes":
		// Goroutines each waiting on an hour-long timer (or the end gate).
		n := arg(100000)
		gate := make(chan struct{})
		var parked int64
		var wg sync.WaitGroup
		before := statmRSS()
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				t := time.NewTimer(time.Hour)
				atomic.AddInt64(&parked, 1)
				select {
				case <-t.C:
				case <-gate:
					t.Stop()
				}
				wg.Done()
			}()
		}
		for atomic.LoadInt64(&parked) < int64(n) {
			runtime.Gosched()
		}
		after := statmRSS()
		close(gate)
		wg.Wait()
		report("idle_timer_bytes", float64(after-before)/float64(n), "bytes")
	case "ping_pong":
		n := arg(100000)
		toPong := make(chan int)
		toPing := make(chan int)
		go func() {
			for v := range toPong {
				toPing <- v
			}
		}()
		start := time.Now()
		for i := 0; i < n; i++ {
			toPong <- i
			<-toPing
		}
		report("ping_pong", per(start, n), "ns")
		close(toPong)
	case "timers":
		n := arg(1000000)
		start := time.Now()
		var wg sync.WaitGroup
		x := uint64(42)
		for i := 0; i < n; i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			d := time.Duration(x%100001) * time.Microsecond
			wg.Add(1)
			go func() {
				time.Sleep(d)
				wg.Done()
			}()
		}
		wg.Wait()
		report("timers", float64(time.Since(start).Nanoseconds())/1e6, "ms")
		report("timers_rss", float64(peakRSS())/1e6, "MB")
	case "echo":
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(arg(7000)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening")
		for {
			c, err := ln.Accept()
			if err != nil {
				continue
			}
			go echoConn(c)
		}
	case "mutex":
		nEach := arg(250000)
		var m sync.Mutex
		counter := 0
		var wg sync.WaitGroup
		start := time.Now()
		for t := 0; t < contenders; t++ {
			wg.Add(1)
			go func() {
				for i := 0; i < nEach; i++ {
					m.Lock()
					counter++
					m.Unlock()
				}
				wg.Done()
			}()
		}
		wg.Wait()
		if counter != nEach*contenders {
			fmt.Fprintln(os.Stderr, "mutex: lost updates")
		}
		report("mutex", per(start, nEach*contenders), "ns")
	case "mpsc":
		nEach := arg(250000)
		ch := make(chan int, 1024)
		var wg sync.WaitGroup
		start := time.Now()
		for t := 0; t < contenders; t++ {
			wg.Add(1)
			go func() {
				for i := 0; i < nEach; i++ {
					ch <- i
				}
				wg.Done()
			}()
		}
		go func() { wg.Wait(); close(ch) }()
		sum := 0
		for v := range ch {
			sum += v
		}
		if sum != contenders*(nEach*(nEach-1)/2) {
			fmt.Fprintln(os.Stderr, "mpsc: bad sum")
		}
		report("mpsc", per(start, nEach*contenders), "ns")
	default:
		fmt.Printf("case=%s peer=%s na=no-such-case\n", os.Args[1], peer)
	}
}
