// A Curator 5.4 participant for Tests/Interop/test_curator_recipes.py: contends for an InterProcessMutex or a
// LeaderLatch at a path, and appends what it does to a shared history file ("<event> <name> <unix seconds>").
//
//   lock  <connect> <path> <history> <name> <rounds> <holdMs> <sessionMs>
//   latch <connect> <path> <history> <name> <holdMs> <sessionMs>      (holdMs < 0: lead until killed)
//   count <connect> <path> <history> <name> <times> <sessionMs>       (SharedCount: add 1, <times> times, by CAS)
//
// Compiled at test time against Debian's libcurator-recipes-java jars.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.RetryNTimes;

public final class CuratorRecipeWorker {
    private static String history;

    private static synchronized void record(String event, String name) throws Exception {
        String line = String.format("%s %s %.6f%n", event, name, System.currentTimeMillis() / 1000.0);
        Files.write(Paths.get(history), line.getBytes(StandardCharsets.UTF_8),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        System.out.print(line);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String connect = args[1];
        String path = args[2];
        history = args[3];
        String name = args[4];
        int sessionMs = Integer.parseInt(args[args.length - 1]);
        CuratorFramework client = CuratorFrameworkFactory.newClient(connect, sessionMs, 5000, new RetryNTimes(50, 100));
        client.start();
        if (!client.blockUntilConnected(20, java.util.concurrent.TimeUnit.SECONDS)) {
            System.err.println("not connected");
            System.exit(4);
        }
        System.out.println("CONNECTED");
        System.out.flush();
        if (mode.equals("lock")) {
            int rounds = Integer.parseInt(args[5]);
            long holdMs = Long.parseLong(args[6]);
            InterProcessMutex mutex = new InterProcessMutex(client, path);
            for (int i = 0; i < rounds; i++) {
                mutex.acquire();
                record("acquire", name);
                Thread.sleep(holdMs);
                record("release", name);
                mutex.release();
            }
        } else if (mode.equals("latch")) {
            long holdMs = Long.parseLong(args[5]);
            LeaderLatch latch = new LeaderLatch(client, path, name);
            latch.start();
            latch.await();
            record("lead", name);
            if (holdMs < 0) {
                Thread.sleep(Long.MAX_VALUE);
            }
            Thread.sleep(holdMs);
            record("unlead", name);
            latch.close();
        } else if (mode.equals("count")) {
            int times = Integer.parseInt(args[5]);
            SharedCount count = new SharedCount(client, path, 0);
            count.start();
            for (int i = 0; i < times; i++) {
                while (true) {
                    VersionedValue<Integer> current = count.getVersionedValue();
                    if (count.trySetCount(current, current.getValue() + 1)) {
                        break;
                    }
                }
            }
            record("counted", name);
            count.close();
        } else {
            System.err.println("unknown mode " + mode);
            System.exit(2);
        }
        client.close();
    }
}
