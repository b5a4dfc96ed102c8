// Command etcd is the etcd server that Kubernetes itself requires (see go.mod),
// built from go.etcd.io/etcd/server/v3/etcdmain so that no prebuilt binary is needed.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
