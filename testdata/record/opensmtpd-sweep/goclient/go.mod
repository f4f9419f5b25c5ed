module goclient

go 1.20
