import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Starts DynamoDB Local listening on one address only. Its own command line has no bind option
 * (its embedded Jetty listens on every interface), so this builds the server from the usual
 * arguments, sets the host of each connector before it starts, and then starts it.
 *
 * It also exits when the process that started it goes away, even if that process was killed
 * without a chance to stop it (SIGKILL), so no Java is left behind.
 *
 * Compiled once by local/dynamodb-local.ts, then run as
 *   java -Dpve.bindHost=127.0.0.1 -Dpve.ownerPid=PID -Djava.library.path=LIB -cp 'CLASSES:JAR:LIB/*' LoopbackDynamoDbLocal -port N ...
 */
public class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    String host = System.getProperty("pve.bindHost", "127.0.0.1");
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector to bind");
    for (Connector connector : connectors) {
      if (!(connector instanceof ServerConnector)) {
        throw new IllegalStateException("unexpected connector type " + connector.getClass().getName());
      }
      ((ServerConnector) connector).setHost(host);
    }
    watchOwner(Long.getLong("pve.ownerPid", ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(0L)));
    proxy.start();
    System.out.println("DynamoDB Local listening on " + host);
  }

  /** Exits when process `pid` (the node process that started this one) ends, or at once if it is gone. */
  private static void watchOwner(long pid) {
    if (pid <= 1) return;
    ProcessHandle owner = ProcessHandle.of(pid).orElse(null);
    if (owner == null || !owner.isAlive()) {
      stopBecauseOwnerIsGone();
      return;
    }
    owner.onExit().thenRun(LoopbackDynamoDbLocal::stopBecauseOwnerIsGone);
  }

  private static void stopBecauseOwnerIsGone() {
    System.err.println("DynamoDB Local: the process that started it is gone, stopping");
    System.exit(0);
  }
}
