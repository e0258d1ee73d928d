// Apache Curator's service discovery (Debian's libcurator-discovery-java) driven from the interop suite, to show
// that instances registered by zooreg and by Curator see each other. Compiled and run by test_registry.py:
//
//   java CuratorInterop register <connect> <basePath> <name> <id> <address> <port>
//       registers one DYNAMIC instance (a Map payload {"lang":"java"}), prints "registered <id>", then keeps it
//       until stdin closes or the JVM is terminated (then ServiceDiscovery.close() unregisters it)
//   java CuratorInterop query <connect> <basePath> <name>
//       prints "count <n>", then each instance of queryForInstances as Curator's serializer writes it, then
//       "enabled <id> <true|false>" for each
//   java CuratorInterop names <connect> <basePath>
//       prints queryForNames, one per line

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceType;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;

public class CuratorInterop {
    public static void main(String[] args) throws Exception {
        String command = args[0];
        CuratorFramework client = CuratorFrameworkFactory.newClient(
            args[1], 10000, 5000, new ExponentialBackoffRetry(50, 10));
        client.start();
        client.blockUntilConnected();
        JsonInstanceSerializer<Object> serializer = new JsonInstanceSerializer<Object>(Object.class);
        ServiceDiscovery<Object> discovery = ServiceDiscoveryBuilder.builder(Object.class)
            .client(client).basePath(args[2]).serializer(serializer).build();
        discovery.start();
        if (command.equals("register")) {
            Map<String, Object> payload = new LinkedHashMap<>();
            payload.put("lang", "java");
            ServiceInstance<Object> instance = ServiceInstance.<Object>builder()
                .name(args[3]).id(args[4]).address(args[5]).port(Integer.parseInt(args[6]))
                .payload(payload).serviceType(ServiceType.DYNAMIC)
                .uriSpec(new UriSpec("{scheme}://{address}:{port}")).build();
            discovery.registerService(instance);
            System.out.println("registered " + instance.getId());
            System.out.flush();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try { discovery.close(); client.close(); } catch (Exception e) { /* exiting */ }
            }));
            while (System.in.read() != -1) { }
            discovery.close();
            client.close();
        } else if (command.equals("query")) {
            Collection<ServiceInstance<Object>> instances = discovery.queryForInstances(args[3]);
            System.out.println("count " + instances.size());
            for (ServiceInstance<Object> instance : instances) {
                System.out.println(new String(serializer.serialize(instance), "UTF-8"));
            }
            for (ServiceInstance<Object> instance : instances) {
                System.out.println("enabled " + instance.getId() + " " + instance.isEnabled());
            }
            discovery.close();
            client.close();
        } else if (command.equals("names")) {
            for (String name : discovery.queryForNames()) System.out.println(name);
            discovery.close();
            client.close();
        } else {
            throw new IllegalArgumentException("unknown command " + command);
        }
    }
}
