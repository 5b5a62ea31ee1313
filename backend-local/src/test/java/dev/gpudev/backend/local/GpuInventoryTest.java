package dev.gpudev.backend.local;

import dev.gpudev.core.GpuCatalog;
import dev.gpudev.core.ValidationException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuInventoryTest {
    static String fixture(String name) throws IOException {
        try (InputStream in = GpuInventoryTest.class.getResourceAsStream("/nvidia-smi/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void parsesTheQueryCsvOfARealH100WithItsHeader() throws IOException {
        var gpus = GpuInventory.parseQueryCsv(fixture("h100-x1-query-gpu.csv"));
        assertEquals(1, gpus.size());
        assertEquals(0, gpus.getFirst().index());
        assertEquals("GPU-c58d95bf-1be8-f78c-36a9-7c18e87a432e", gpus.getFirst().uuid());
        assertEquals("NVIDIA H100 80GB HBM3", gpus.getFirst().name());
        assertEquals(0, gpus.getFirst().utilizationPercent());
    }

    @Test
    void parsesTheNoHeaderFormThatDiscoveryAsksFor() {
        var gpus = GpuInventory.parseQueryCsv("0, GPU-a, NVIDIA H100 80GB HBM3, 81559, 37\n1, GPU-b, NVIDIA H100 80GB HBM3, 81559, 0\n");
        assertEquals(List.of(0, 1), gpus.stream().map(GpuInventory.Gpu::index).toList());
        assertEquals(37, gpus.getFirst().utilizationPercent());
    }

    @Test
    void parsesNvidiaSmiL() throws IOException {
        var gpus = GpuInventory.parseList(fixture("h100-x1-L.txt"));
        assertEquals(1, gpus.size());
        assertEquals("NVIDIA H100 80GB HBM3", gpus.getFirst().name());
        assertEquals("GPU-c58d95bf-1be8-f78c-36a9-7c18e87a432e", gpus.getFirst().uuid());
    }

    @Test
    void mapsModelNamesToCatalogTypes() {
        GpuCatalog catalog = GpuCatalog.standard();
        assertEquals("h100", GpuInventory.typeOf("NVIDIA H100 80GB HBM3", catalog).orElseThrow());
        assertEquals("a100", GpuInventory.typeOf("NVIDIA A100-SXM4-80GB", catalog).orElseThrow());
        assertEquals("a10g", GpuInventory.typeOf("NVIDIA A10G", catalog).orElseThrow());
        assertEquals("l4", GpuInventory.typeOf("NVIDIA L4", catalog).orElseThrow());
        assertEquals("h200", GpuInventory.typeOf("NVIDIA H200", catalog).orElseThrow());
        assertTrue(GpuInventory.typeOf("Some Other Card", catalog).isEmpty());
    }

    @Test
    void aRealMachineBecomesOneNodePerType() throws IOException {
        var capacity = GpuInventory.fromGpus(GpuInventory.parseQueryCsv(fixture("h100-x1-query-gpu.csv")), GpuCatalog.standard(), "box");
        assertEquals(1, capacity.nodes().size());
        assertEquals("h100", capacity.nodes().getFirst().gpuType());
        assertEquals(List.of(0), capacity.nodes().getFirst().gpus());
        assertTrue(!capacity.nodes().getFirst().simulated());
    }

    @Test
    void simulatedGpusDeclareNodesAndAreLabelled() {
        var capacity = GpuInventory.simulated("h100:8x2,a100:4", GpuCatalog.standard());
        assertEquals(3, capacity.nodes().size());
        assertEquals(16, capacity.totalGpus("h100"));
        assertEquals(8, capacity.maxPerNode("h100"));
        assertEquals(4, capacity.totalGpus("a100"));
        assertTrue(capacity.nodes().stream().allMatch(n -> n.simulated()));
    }

    @Test
    void badSimulatedSpecsAreRefusedWithTheFormat() {
        var e = assertThrows(ValidationException.class, () -> GpuInventory.simulated("h100-8", GpuCatalog.standard()));
        assertTrue(e.getMessage().contains("TYPE:COUNT[xNODES]"));
        assertThrows(ValidationException.class, () -> GpuInventory.simulated("z900:8", GpuCatalog.standard()));
        assertThrows(ValidationException.class, () -> GpuInventory.simulated("h100:0", GpuCatalog.standard()));
    }
}
