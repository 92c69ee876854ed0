// Command interop drives Huawei's Go v3 SDK (github.com/huaweicloud/huaweicloud-sdk-go-v3,
// services/dis/v2) against a DIS endpoint (dis-local), for scripts/interop-huawei-go.sh.
//
//	interop -endpoint URL -ak AK -sk SK -project-id P -stream S -partitions N -records N
//
// SendRecords with AK/SK (the SDK's SDK-HMAC-SHA256 Access= signature, JSON bodies): one request
// of varied records (binary data, partition keys, explicit hash keys, partition ids, nothing);
// every answer entry checked, every keyed record in the partition Huawei's Java producer
// computes (MD5 of the key), every record read back from dis-local equal. Then the error
// answers the SDK must parse: an unknown stream (400 DIS.4301) and a wrong secret key (441
// DIS.4100). Prints one "ok: ..." line per check; exits 1 on the first failure.
package main

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	dis "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dis/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dis/v2/model"
)

var (
	endpoint   = flag.String("endpoint", "", "DIS endpoint URL")
	ak         = flag.String("ak", "", "access key")
	sk         = flag.String("sk", "", "secret key")
	projectID  = flag.String("project-id", "", "project ID")
	stream     = flag.String("stream", "", "stream name")
	partitions = flag.Int("partitions", 0, "the stream's partition count")
	records    = flag.Int("records", 100, "records in the request")
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAILED: "+format+"\n", args...)
	os.Exit(1)
}

func client(secret string) *dis.DisClient {
	auth, err := basic.NewCredentialsBuilder().WithAk(*ak).WithSk(secret).WithProjectId(*projectID).SafeBuild()
	if err != nil {
		fail("credentials: %v", err)
	}
	hc, err := dis.DisClientBuilder().
		WithEndpoints([]string{*endpoint}).
		WithCredential(auth).
		WithHttpConfig(config.DefaultHttpConfig().WithTimeout(30 * time.Second)).
		SafeBuild()
	if err != nil {
		fail("client: %v", err)
	}
	return dis.NewDisClient(hc)
}

// partitionOf is the partition Huawei's Java producer (PartitionKeyUtils) routes a hash to.
func partitionOf(hash int64, n int) int {
	avg := math.MaxInt64 / int64(n)
	i := hash / avg
	if i > 0 && hash%avg == 0 {
		i--
	}
	return int(i)
}

// keyHash is PartitionKeyUtils.getHash: MD5 of the UTF-8 key, first 8 bytes big-endian, & MaxInt64.
func keyHash(key string) int64 {
	sum := md5.Sum([]byte(key))
	return int64(binary.BigEndian.Uint64(sum[:8]) & math.MaxInt64)
}

type sent struct {
	data      []byte
	key, hash *string
	partition int // -1: any
}

type stored struct {
	PartitionID     string  `json:"partition_id"`
	SequenceNumber  string  `json:"sequence_number"`
	Data            string  `json:"data"`
	PartitionKey    *string `json:"partition_key"`
	ExplicitHashKey *string `json:"explicit_hash_key"`
}

// readBack pages through what dis-local stored in the stream.
func readBack() map[string]stored {
	out := map[string]stored{}
	hc := &http.Client{Timeout: 30 * time.Second}
	from := "0"
	for from != "" {
		resp, err := hc.Get(*endpoint + "/local/v1/streams/" + *stream + "/records?from=" + from + "&limit=10000")
		if err != nil {
			fail("read-back: %v", err)
		}
		var page []stored
		if resp.StatusCode != 200 {
			fail("read-back answered %d", resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			fail("read-back: %v", err)
		}
		resp.Body.Close()
		for _, r := range page {
			out[r.PartitionID+"/"+r.SequenceNumber] = r
		}
		from = resp.Header.Get("X-Next-From")
	}
	return out
}

func str(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

func main() {
	flag.Parse()
	if *endpoint == "" || *stream == "" || *partitions < 1 {
		fail("-endpoint, -stream and -partitions are needed")
	}
	n := *records
	rng := rand.New(rand.NewSource(int64(n)))
	var want []sent
	var entries []model.PutRecordsRequestEntry
	for i := 0; i < n; i++ {
		data := make([]byte, rng.Intn(300))
		rng.Read(data)
		e := model.PutRecordsRequestEntry{Data: base64.StdEncoding.EncodeToString(data)}
		s := sent{data: data, partition: -1}
		switch i % 5 {
		case 0:
			k := fmt.Sprintf("user-%d", i)
			s.key, s.partition = &k, partitionOf(keyHash(k), *partitions)
		case 1:
			k, h := fmt.Sprintf("user-%d", i), rng.Int63()
			hs := strconv.FormatInt(h, 10)
			s.key, s.hash, s.partition = &k, &hs, partitionOf(h, *partitions)
		case 2:
			p := i % *partitions
			id := fmt.Sprintf("shardId-%010d", p)
			e.PartitionId, s.partition = &id, p
		case 3:
			h := rng.Int63()
			hs := strconv.FormatInt(h, 10)
			s.hash, s.partition = &hs, partitionOf(h, *partitions)
		}
		e.PartitionKey, e.ExplicitHashKey = s.key, s.hash
		entries = append(entries, e)
		want = append(want, s)
	}
	c := client(*sk)
	resp, err := c.SendRecords(&model.SendRecordsRequest{
		Body: &model.PutRecordsRequest{StreamName: *stream, Records: entries},
	})
	if err != nil {
		fail("SendRecords: %v", err)
	}
	if resp.HttpStatusCode != 200 || resp.FailedRecordCount == nil || *resp.FailedRecordCount != 0 {
		fail("SendRecords: status %d, failed_record_count %v", resp.HttpStatusCode, resp.FailedRecordCount)
	}
	if resp.Records == nil || len(*resp.Records) != n {
		fail("SendRecords: not %d result entries", n)
	}
	back := readBack()
	if len(back) != n {
		fail("dis-local stored %d records, %d sent", len(back), n)
	}
	for i, r := range *resp.Records {
		s := want[i]
		if r.ErrorCode != nil || r.PartitionId == nil || r.SequenceNumber == nil {
			fail("record %d: %s %s", i, str(r.ErrorCode), str(r.ErrorMessage))
		}
		var p int
		if _, err := fmt.Sscanf(*r.PartitionId, "shardId-%d", &p); err != nil || p < 0 || p >= *partitions {
			fail("record %d in %q", i, *r.PartitionId)
		}
		if s.partition >= 0 && s.partition != p {
			fail("record %d (key %s, hash %s) in %s; Huawei's Java producer routes it to %d",
				i, str(s.key), str(s.hash), *r.PartitionId, s.partition)
		}
		got, ok := back[*r.PartitionId+"/"+*r.SequenceNumber]
		if !ok {
			fail("record %d (%s #%s) not read back", i, *r.PartitionId, *r.SequenceNumber)
		}
		if got.Data != base64.StdEncoding.EncodeToString(s.data) {
			fail("record %d: data differs", i)
		}
		if str(got.PartitionKey) != str(s.key) || str(got.ExplicitHashKey) != str(s.hash) {
			fail("record %d: keys %s/%s read back, %s/%s sent", i,
				str(got.PartitionKey), str(got.ExplicitHashKey), str(s.key), str(s.hash))
		}
	}
	fmt.Printf("ok: SendRecords: %d records answered, routed as Huawei's Java producer routes them, and read back equal\n", n)

	// Error answers, as the SDK parses them.
	expectError := func(what string, c *dis.DisClient, streamName string, status int, code string) {
		_, err := c.SendRecords(&model.SendRecordsRequest{Body: &model.PutRecordsRequest{
			StreamName: streamName,
			Records:    []model.PutRecordsRequestEntry{{Data: "aGVsbG8="}},
		}})
		var se *sdkerr.ServiceResponseError
		if !errors.As(err, &se) {
			fail("%s: %v, not a ServiceResponseError", what, err)
		}
		// The SDK reads the API gateway's error_code/error_msg; a DIS body (errorCode, message)
		// it keeps whole as the message, as DIS sends it.
		if se.StatusCode != status || se.RequestId == "" ||
			(se.ErrorCode != code && !strings.Contains(se.ErrorMessage, `"errorCode":"`+code+`"`)) {
			fail("%s: status %d, code %q, message %q, request id %q; wanted %d %s and a request id",
				what, se.StatusCode, se.ErrorCode, se.ErrorMessage, se.RequestId, status, code)
		}
		fmt.Printf("ok: %s: the SDK reports %d with %s in its message, request id %s\n", what, status, code, se.RequestId)
	}
	expectError("unknown stream", c, *stream+"-missing", 400, "DIS.4301")
	expectError("wrong secret key", client(*sk+"-wrong"), *stream, 441, "DIS.4100")
}
