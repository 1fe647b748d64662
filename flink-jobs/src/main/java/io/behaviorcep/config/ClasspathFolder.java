package io.behaviorcep.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Reads the files of one resource folder (migrations, shipped patterns) from wherever this code
 * was loaded: a classes directory in tests and IDEs, the shaded jar otherwise. The code source is
 * used because a class loader cannot list a jar's directory.
 */
public final class ClasspathFolder {
    private ClasspathFolder() {}

    /** File name to UTF-8 text, sorted by name; not recursive. */
    public static Map<String, String> read(String folder) {
        CodeSource source = ClasspathFolder.class.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            throw new IllegalStateException("cannot tell where " + ClasspathFolder.class.getName() + " was loaded from");
        }
        Path location;
        try {
            location = Path.of(source.getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("unusable code source " + source.getLocation(), e);
        }
        return read(location, folder);
    }

    /** The files of {@code folder} inside a classes directory or a jar file. */
    public static Map<String, String> read(Path location, String folder) {
        String prefix = folder.endsWith("/") ? folder : folder + "/";
        Map<String, String> files = new TreeMap<>();
        try {
            if (Files.isDirectory(location)) {
                Path dir = location.resolve(prefix);
                if (!Files.isDirectory(dir)) return files;
                try (Stream<Path> paths = Files.list(dir)) {
                    for (Path p : (Iterable<Path>) paths::iterator) {
                        if (Files.isRegularFile(p)) files.put(p.getFileName().toString(), Files.readString(p));
                    }
                }
                return files;
            }
            try (JarFile jar = new JarFile(location.toFile())) {
                for (JarEntry e : Collections.list(jar.entries())) {
                    String name = e.getName();
                    if (!e.isDirectory() && name.startsWith(prefix) && name.indexOf('/', prefix.length()) < 0) {
                        files.put(name.substring(prefix.length()), new String(jar.getInputStream(e).readAllBytes(), StandardCharsets.UTF_8));
                    }
                }
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + prefix + " from " + location, e);
        }
    }
}
