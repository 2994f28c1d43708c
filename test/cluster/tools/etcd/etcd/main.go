// etcd, as go.etcd.io/etcd/server/v3 (its main.go) builds it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
