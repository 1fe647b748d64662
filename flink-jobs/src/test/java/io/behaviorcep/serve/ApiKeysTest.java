package io.behaviorcep.serve;

import org.junit.jupiter.api.Test;

import java.util.Base64;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class ApiKeysTest {

    @Test
    void aKeyIs32RandomBytesBehindThePrefix() {
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            String k = ApiKeys.generate();
            assertThat(k).startsWith(ApiKeys.PREFIX);
            assertThat(Base64.getUrlDecoder().decode(k.substring(ApiKeys.PREFIX.length()))).hasSize(32);
            keys.add(k);
        }
        assertThat(keys).hasSize(100);
    }

    @Test
    void theStoredHashIsTheHexSha256OfTheKey() {
        // SHA-256("abc"), the FIPS 180-2 test vector
        assertThat(ApiKeys.hash("abc")).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        String k = ApiKeys.generate();
        assertThat(ApiKeys.hash(k)).hasSize(64).isNotEqualTo(ApiKeys.hash(k + "x")).doesNotContain(k);
    }

    @Test
    void onlyABearerHeaderCarriesAKey() {
        assertThat(ApiKeys.bearer("Bearer bcs_abc")).isEqualTo(Optional.of("bcs_abc"));
        assertThat(ApiKeys.bearer("bearer   bcs_abc  ")).isEqualTo(Optional.of("bcs_abc"));
        assertThat(ApiKeys.bearer(null)).isEmpty();
        assertThat(ApiKeys.bearer("Bearer ")).isEmpty();
        assertThat(ApiKeys.bearer("Basic dXNlcjpwYXNz")).isEmpty();
        assertThat(ApiKeys.bearer("bcs_abc")).isEmpty();
    }
}
