module impair

go 1.24.0
