module brigade/bench/peers/go

go 1.19
