package io.behaviorcep.ops;

import org.apache.flink.configuration.ConfigOption;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Flink's own configuration options, found the way Flink documents them: every public static
 * {@link ConfigOption} field of the {@code *Options} classes in the Flink jars on the classpath
 * (flink-core's CheckpointingOptions, StateBackendOptions, RestartStrategyOptions,
 * HighAvailabilityOptions, MetricOptions, ..., flink-statebackend-rocksdb's, the Prometheus
 * reporter's). Keys only under their current name: a deprecated or fallback key does not count.
 */
final class FlinkOptions {
    private FlinkOptions() {}

    /** Option key (as declared, e.g. "factory.class" for reporter options) → option; first declaration wins. */
    static Map<String, ConfigOption<?>> byKey(String jarNamePrefix) {
        Map<String, ConfigOption<?>> out = new HashMap<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            File f = new File(entry);
            if (!f.getName().startsWith(jarNamePrefix) || !f.getName().endsWith(".jar")) continue;
            try (JarFile jar = new JarFile(f)) {
                Enumeration<JarEntry> entries = jar.entries();
                while (entries.hasMoreElements()) {
                    String name = entries.nextElement().getName();
                    if (!name.startsWith("org/apache/flink/") || !name.endsWith("Options.class") || name.contains("$")) continue;
                    collect(name.substring(0, name.length() - ".class".length()).replace('/', '.'), out);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    static Map<String, ConfigOption<?>> ofClass(Class<?> c) {
        Map<String, ConfigOption<?>> out = new HashMap<>();
        collect(c.getName(), out);
        return out;
    }

    private static void collect(String className, Map<String, ConfigOption<?>> out) {
        Class<?> c;
        try {
            c = Class.forName(className, false, FlinkOptions.class.getClassLoader());
        } catch (Throwable e) {
            return; // an options class whose dependencies are not here; not one the manifests can use then
        }
        for (Field field : c.getFields()) {
            if (!Modifier.isStatic(field.getModifiers()) || !ConfigOption.class.isAssignableFrom(field.getType())) continue;
            try {
                ConfigOption<?> o = (ConfigOption<?>) field.get(null);
                out.putIfAbsent(o.key(), o);
            } catch (Throwable ignored) {
                // an option that cannot be initialised here
            }
        }
    }
}
