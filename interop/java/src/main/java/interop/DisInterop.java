package interop;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.huaweicloud.dis.DISClient;
import com.huaweicloud.dis.DISConfig;
import com.huaweicloud.dis.core.handler.AsyncHandler;
import com.huaweicloud.dis.iface.data.request.PutRecordsRequest;
import com.huaweicloud.dis.iface.data.request.PutRecordsRequestEntry;
import com.huaweicloud.dis.iface.data.response.PutRecordsResult;
import com.huaweicloud.dis.iface.data.response.PutRecordsResultEntry;
import com.huaweicloud.dis.producer.DISProducer;
import com.huaweicloud.dis.producer.PartitionKeyUtils;

/**
 * Drives Huawei's hand-written Java DIS SDK (huaweicloud-sdk-java-dis) against a DIS endpoint
 * (dis-local), for scripts/interop-huawei-java.sh and scripts/bench-vs-java.sh.
 *
 * <pre>
 * put      --stream S --body json|protobuf --compress none|lz4|snappy|zstd --records N
 *          DISClient.putRecords: one request of N varied records (binary data, partition keys,
 *          explicit hash keys, partition ids, none); every answer entry checked, every record
 *          read back from dis-local and compared.
 * producer --stream S --records N --size B
 *          DISProducer.putRecordAsync for N records with callbacks: all acknowledged once, none
 *          failed, each stored exactly once (read back).
 * bench    --stream S --records N --size B --keys K --warmup W [--compress lz4]
 *          DISProducer: W records to warm the JVM, flushed; then N records timed: one line of
 *          JSON with records/s and the process's CPU per record over the timed part.
 * </pre>
 *
 * Common flags: --endpoint URL --ak AK --sk SK --project-id P --region R --partitions N.
 * Prints one "ok: ..." line per check; exits 1 on the first failure.
 */
public final class DisInterop {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5)).build();

    private final Map<String, String> flags;

    private DisInterop(Map<String, String> flags) {
        this.flags = flags;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            fail("usage: put|producer|bench --flag value ...");
        }
        Map<String, String> flags = new HashMap<>();
        for (int i = 1; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                fail("bad argument: " + args[i]);
            }
            flags.put(args[i].substring(2), args[i + 1]);
        }
        DisInterop run = new DisInterop(flags);
        switch (args[0]) {
            case "put": run.put(); break;
            case "producer": run.producer(); break;
            case "bench": run.bench(); break;
            default: fail("unknown mode " + args[0]);
        }
        // The SDK's client threads are not daemons.
        System.exit(0);
    }

    private String flag(String name) {
        String v = flags.get(name);
        if (v == null) {
            fail("missing --" + name);
        }
        return v;
    }

    private String flag(String name, String dflt) {
        return flags.getOrDefault(name, dflt);
    }

    static void fail(String message) {
        System.err.println("FAILED: " + message);
        System.exit(1);
    }

    static void check(boolean condition, String message) {
        if (!condition) {
            fail(message);
        }
    }

    /** The SDK's configuration for dis-local: AK/SK, the body format and compression asked. */
    private DISConfig config() {
        DISConfig c = new DISConfig();
        c.set(DISConfig.PROPERTY_ENDPOINT, flag("endpoint"));
        c.set(DISConfig.PROPERTY_AK, flag("ak"));
        c.set(DISConfig.PROPERTY_SK, flag("sk"));
        c.set(DISConfig.PROPERTY_PROJECT_ID, flag("project-id"));
        c.set(DISConfig.PROPERTY_REGION_ID, flag("region", "cn-north-4"));
        c.set(DISConfig.PROPERTY_BODY_SERIALIZE_TYPE, flag("body", "json"));
        String compress = flag("compress", "none");
        if (!compress.equals("none")) {
            c.set(DISConfig.PROPERTY_BODY_COMPRESS_ENABLED, "true");
            c.set(DISConfig.PROPERTY_BODY_COMPRESS_TYPE, compress);
        }
        for (Map.Entry<String, String> e : flags.entrySet()) {
            if (e.getKey().startsWith("sdk.")) {
                c.set(e.getKey().substring(4), e.getValue());
            }
        }
        return c;
    }

    /** One record as sent, and where it must land (-1: any partition). */
    static final class Sent {
        final byte[] data;
        final String partitionKey;
        final String explicitHashKey;
        final int partition;

        Sent(byte[] data, String partitionKey, String explicitHashKey, int partition) {
            this.data = data;
            this.partitionKey = partitionKey;
            this.explicitHashKey = explicitHashKey;
            this.partition = partition;
        }
    }

    private void put() throws Exception {
        String stream = flag("stream");
        int n = Integer.parseInt(flag("records"));
        int partitions = Integer.parseInt(flag("partitions"));
        String tag = flag("body", "json") + "/" + flag("compress", "none");
        Random random = new Random(n * 31L + tag.hashCode());
        List<Sent> sent = new ArrayList<>();
        List<PutRecordsRequestEntry> entries = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // Binary data of varied sizes (one empty, one of 64 KiB past 10 records), compressible
            // and not.
            int size = i == 0 ? 0 : i == 1 && n > 10 ? 65536 : random.nextInt(400);
            byte[] data = new byte[size];
            if (i % 2 == 0) {
                random.nextBytes(data);
            } else {
                byte[] text = ("record " + i + " of " + tag + "; ").getBytes(StandardCharsets.UTF_8);
                for (int j = 0; j < size; j++) {
                    data[j] = text[j % text.length];
                }
            }
            PutRecordsRequestEntry e = new PutRecordsRequestEntry();
            e.setData(ByteBuffer.wrap(data));
            String key = null;
            String hash = null;
            int partition = -1;
            switch (i % 5) {
                case 0: // a partition key: MD5 routing, as the SDK's PartitionKeyUtils
                    key = "user-" + i + "-" + tag;
                    partition = PartitionKeyUtils.calPartitionIndex(partitions,
                            PartitionKeyUtils.getHashKey(key, null));
                    break;
                case 1: // a partition key and an explicit hash key, which wins
                    key = "user-" + i;
                    hash = Long.toString(random.nextLong() & Long.MAX_VALUE);
                    partition = PartitionKeyUtils.calPartitionIndex(partitions,
                            PartitionKeyUtils.getHashKey(key, hash));
                    break;
                case 2: // a partition id, in both spellings
                    partition = i % partitions;
                    e.setPartitionId(i % 10 == 2 ? String.format("shardId-%010d", partition)
                            : Integer.toString(partition));
                    break;
                case 3: // an explicit hash key alone
                    hash = Long.toString(random.nextLong() & Long.MAX_VALUE);
                    partition = PartitionKeyUtils.calPartitionIndex(partitions,
                            PartitionKeyUtils.getHashKey(null, hash));
                    break;
                default: // nothing: any partition
                    break;
            }
            e.setPartitionKey(key);
            e.setExplicitHashKey(hash);
            entries.add(e);
            sent.add(new Sent(data, key, hash, partition));
        }
        PutRecordsRequest request = new PutRecordsRequest();
        request.setStreamName(stream);
        request.setRecords(entries);
        DISClient client = new DISClient(config());
        PutRecordsResult result = client.putRecords(request);
        check(result.getFailedRecordCount().get() == 0,
                tag + ": " + result.getFailedRecordCount().get() + " records failed: " + result);
        check(result.getRecords().size() == n, tag + ": " + result.getRecords().size() + " results for " + n);
        Map<String, JsonNode> stored = readBack(stream);
        check(stored.size() == n, tag + ": dis-local stored " + stored.size() + " records, " + n + " sent");
        for (int i = 0; i < n; i++) {
            PutRecordsResultEntry r = result.getRecords().get(i);
            Sent s = sent.get(i);
            check(r.getErrorCode() == null, tag + ": record " + i + ": " + r.getErrorCode());
            int p = PartitionKeyUtils.getPartitionNumberFromShardId(r.getPartitionId());
            check(p >= 0 && p < partitions, tag + ": record " + i + " in " + r.getPartitionId());
            check(s.partition < 0 || s.partition == p, tag + ": record " + i + " (key " + s.partitionKey
                    + ", hash " + s.explicitHashKey + ") in " + r.getPartitionId() + ", the SDK routes it to "
                    + s.partition);
            JsonNode back = stored.get(r.getPartitionId() + "/" + r.getSequenceNumber());
            check(back != null, tag + ": record " + i + " (" + r.getPartitionId() + " #"
                    + r.getSequenceNumber() + ") not read back");
            byte[] data = Base64.getDecoder().decode(back.get("data").asText());
            check(Arrays.equals(data, s.data), tag + ": record " + i + ": data differs ("
                    + data.length + " bytes read back, " + s.data.length + " sent)");
            check(eq(text(back, "partition_key"), s.partitionKey), tag + ": record " + i + ": partition key "
                    + text(back, "partition_key") + ", sent " + s.partitionKey);
            check(eq(text(back, "explicit_hash_key"), s.explicitHashKey), tag + ": record " + i
                    + ": explicit hash key " + text(back, "explicit_hash_key") + ", sent " + s.explicitHashKey);
        }
        System.out.println("ok: putRecords " + tag + ": " + n + " records answered, routed as "
                + "PartitionKeyUtils routes them, and read back equal");
    }

    static boolean eq(String a, String b) {
        return a == null ? b == null : a.equals(b);
    }

    static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    /** Every record dis-local stored in the stream, by "partition_id/sequence_number". */
    private Map<String, JsonNode> readBack(String stream) throws Exception {
        Map<String, JsonNode> out = new HashMap<>();
        String from = "0";
        while (from != null) {
            HttpRequest get = HttpRequest.newBuilder(URI.create(flag("endpoint") + "/local/v1/streams/"
                    + stream + "/records?from=" + from + "&limit=50000"))
                    .timeout(Duration.ofSeconds(60)).GET().build();
            HttpResponse<byte[]> resp = HTTP.send(get, HttpResponse.BodyHandlers.ofByteArray());
            check(resp.statusCode() == 200, "read-back answered " + resp.statusCode());
            for (JsonNode r : JSON.readTree(resp.body())) {
                String id = r.get("partition_id").asText() + "/" + r.get("sequence_number").asText();
                check(out.put(id, r) == null, "read-back: " + id + " twice");
            }
            from = resp.headers().firstValue("x-next-from").orElse(null);
        }
        return out;
    }

    /** Record i of a generated run: its 12-digit index, then 'x' up to size (as dis-records'). */
    static byte[] generated(long i, int size) {
        byte[] data = new byte[size];
        Arrays.fill(data, (byte) 'x');
        byte[] index = String.format("%012d", i).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(index, 0, data, 0, Math.min(index.length, size));
        return data;
    }

    /** Outcomes of the producer's callbacks. */
    static final class Tally {
        final AtomicLong acked = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicReference<String> firstError = new AtomicReference<>();
        volatile CountDownLatch done;
    }

    /** Sends records [from, to) through the producer with a callback each; waits for them all. */
    static void produce(DISProducer producer, String stream, long from, long to, int size, long keys,
                        Tally tally, long timeoutS) throws Exception {
        CountDownLatch done = new CountDownLatch((int) (to - from));
        for (long i = from; i < to; i++) {
            PutRecordsRequestEntry e = new PutRecordsRequestEntry();
            e.setData(ByteBuffer.wrap(generated(i, size)));
            if (keys > 0) {
                e.setPartitionKey("key-" + (i % keys));
            }
            producer.putRecordAsync(stream, e, new AsyncHandler<PutRecordsResultEntry>() {
                @Override
                public void onSuccess(PutRecordsResultEntry result) {
                    if (result.getErrorCode() == null && result.getSequenceNumber() != null) {
                        tally.acked.incrementAndGet();
                    } else {
                        tally.failed.incrementAndGet();
                        tally.firstError.compareAndSet(null, result.getErrorCode() + " " + result.getErrorMessage());
                    }
                    done.countDown();
                }

                @Override
                public void onError(Exception exception) {
                    tally.failed.incrementAndGet();
                    tally.firstError.compareAndSet(null, String.valueOf(exception));
                    done.countDown();
                }
            });
        }
        producer.flush();
        check(done.await(timeoutS, TimeUnit.SECONDS), "callbacks: " + done.getCount() + " of " + (to - from)
                + " records had no outcome within " + timeoutS + " s");
    }

    private void producer() throws Exception {
        String stream = flag("stream");
        long n = Long.parseLong(flag("records"));
        int size = Integer.parseInt(flag("size", "100"));
        long keys = Long.parseLong(flag("keys", "0"));
        DISProducer producer = new DISProducer(config());
        Tally tally = new Tally();
        long started = System.nanoTime();
        produce(producer, stream, 0, n, size, keys, tally, 600);
        double seconds = (System.nanoTime() - started) / 1e9;
        producer.close();
        check(tally.failed.get() == 0, tally.failed.get() + " records failed; first: " + tally.firstError.get());
        check(tally.acked.get() == n, tally.acked.get() + " acknowledged of " + n);
        Map<String, JsonNode> stored = readBack(stream);
        check(stored.size() == n, "dis-local stored " + stored.size() + " records; " + n + " were acknowledged");
        boolean[] seen = new boolean[(int) n];
        for (JsonNode r : stored.values()) {
            byte[] data = Base64.getDecoder().decode(r.get("data").asText());
            long i = Long.parseLong(new String(data, 0, 12, StandardCharsets.US_ASCII));
            check(i >= 0 && i < n && !seen[(int) i], "record " + i + " stored twice or unknown");
            check(Arrays.equals(data, generated(i, size)), "record " + i + ": data differs");
            seen[(int) i] = true;
        }
        System.out.printf("ok: DISProducer.putRecordAsync: %d records, %d callbacks acknowledged, 0 failed, "
                + "each stored once (%.1f s)%n", n, tally.acked.get(), seconds);
    }

    private void bench() throws Exception {
        String stream = flag("stream");
        long n = Long.parseLong(flag("records"));
        long warmup = Long.parseLong(flag("warmup", "100000"));
        int size = Integer.parseInt(flag("size", "100"));
        long keys = Long.parseLong(flag("keys", "0"));
        DISProducer producer = new DISProducer(config());
        Tally tally = new Tally();
        produce(producer, stream, 0, warmup, size, keys, tally, 600);
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        produce(producer, stream, warmup, warmup + n, size, keys, tally, 600);
        long wall = System.nanoTime() - t0;
        long cpu = os.getProcessCpuTime() - cpu0;
        producer.close();
        check(tally.failed.get() == 0, tally.failed.get() + " records failed; first: " + tally.firstError.get());
        check(tally.acked.get() == warmup + n, tally.acked.get() + " acknowledged of " + (warmup + n));
        System.out.printf("{\"records\":%d,\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"records_per_s\":%.1f,"
                        + "\"cpu_us_per_record\":%.4f}%n", n, wall / 1e9, cpu / 1e9, n / (wall / 1e9),
                cpu / 1e3 / n);
    }
}
