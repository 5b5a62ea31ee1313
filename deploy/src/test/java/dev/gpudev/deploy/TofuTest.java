package dev.gpudev.deploy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** deploy/tofu without a cloud: it parses, its references resolve, and tofu.sh runs OpenTofu and nothing else. */
class TofuTest {
    static final Path TOFU = Path.of("tofu").toAbsolutePath();

    @Test
    void everyFileParsesAndEveryReferenceResolvesAcrossTheModules() throws Exception {
        var modules = TofuCheck.modules(TofuCheck.parse(TOFU, TOFU));
        assertTrue(modules.keySet().stream().map(p -> p.getFileName().toString()).toList()
                .containsAll(List.of("tofu", "network", "eks", "platform", "edge")), modules.keySet().toString());
        List<String> dangling = TofuCheck.dangling(modules);
        assertTrue(dangling.isEmpty(), String.join("\n", dangling));
        var root = modules.get(TOFU.normalize());
        assertTrue(root.outputs.containsAll(List.of("api_service_url", "ssh_proxy_address", "kubeconfig_command")), root.outputs.toString());
        assertFalse(root.outputs.contains("api_service_loadbalancer_url"), "the API is reached through CloudFront only");
        var eks = modules.get(TOFU.resolve("modules/eks").normalize());
        assertTrue(eks.resources.containsAll(List.of("aws_eks_node_group.gpu", "aws_eks_addon.vpc_cni", "aws_eks_addon.ebs_csi",
                "helm_release.device_plugin")), eks.resources.toString());
        assertTrue(modules.get(TOFU.resolve("modules/edge").normalize()).resources.containsAll(List.of("aws_cloudfront_distribution.api",
                "aws_cloudfront_vpc_origin.api", "aws_lb.api")));
        assertTrue(modules.get(TOFU.resolve("modules/platform").normalize()).resources.contains("helm_release.gpudev"));
    }

    @Test
    void theProvidersRulesHold() throws Exception {
        var parsed = TofuCheck.parse(TOFU, TOFU);
        List<String> broken = new java.util.ArrayList<>(TofuCheck.providerRules(parsed));
        broken.addAll(TofuCheck.duplicates(parsed));
        assertTrue(broken.isEmpty(), String.join("\n", broken));
    }

    @Test
    void theRulesFindWhatTheProvidersRefuse(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("main.tf"), """
                resource "aws_launch_template" "gpu" {
                  capacity_reservation_specification {
                    capacity_reservation_target {
                      capacity_reservation_id = "cr-1"
                    }
                  }
                }
                resource "aws_eks_node_group" "gpu" {
                  subnet_ids    = ["a", "b", "c"]
                  capacity_type = "CAPACITY_BLOCK"
                  scaling_config {
                    desired_size = 0
                    min_size     = 0
                    max_size     = var.count
                  }
                  launch_template {
                    id = aws_launch_template.gpu.id
                  }
                }
                resource "aws_eks_addon" "cni" {
                  addon_name           = "vpc-cni"
                  configuration_values = "{}"
                }
                resource "aws_cloudfront_distribution" "api" {
                  origin {
                    origin_id   = "api"
                    domain_name = "lb.example.com"
                    custom_origin_config {
                      origin_protocol_policy = "http-only"
                    }
                  }
                }
                """);
        Files.writeString(dir.resolve("outputs.tf"), """
                output "x" {
                  value = 1
                }
                output "x" {
                  value = 2
                }
                """);
        var parsed = TofuCheck.parse(TOFU, dir);
        String all = String.join("\n", TofuCheck.providerRules(parsed)) + "\n" + String.join("\n", TofuCheck.duplicates(parsed));
        for (String expected : List.of("max_size may be 0", "spans several subnets", "no instance_market_options",
                "resolve_conflicts_on_create", "in clear (http-only)", "output x is declared 2 times")) {
            assertTrue(all.contains(expected), expected + " in:\n" + all);
        }
    }

    @Test
    void theCheckerFindsWhatDoesNotResolve(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("modules/a"));
        Files.writeString(dir.resolve("main.tf"), """
                variable "region" {
                  type = string
                }
                module "a" {
                  source = "./modules/a"
                  nme    = var.region
                }
                resource "aws_s3_bucket" "logs" {
                  bucket = "${var.regoin}-logs"
                }
                output "x" {
                  value = "${module.a.missing} ${aws_s3_bucket.log.id} ${local.nothing} ${data.aws_caller_identity.me.id}"
                }
                """);
        Files.writeString(dir.resolve("modules/a/main.tf"), """
                variable "name" {
                  type = string
                }
                output "id" {
                  value = var.name
                }
                """);
        List<String> found = TofuCheck.dangling(TofuCheck.modules(TofuCheck.parse(TOFU, dir)));
        String all = String.join("\n", found);
        for (String expected : List.of("var.regoin is not declared", "module.a.missing is not an output", "aws_s3_bucket.log is not declared",
                "local.nothing is not defined", "data.aws_caller_identity.me is not declared", "passes nme, which ./modules/a does not declare",
                "does not pass name, which ./modules/a requires")) {
            assertTrue(all.contains(expected), expected + " in:\n" + all);
        }
    }

    record Run(int exit, String out) {
    }

    static Run tofuSh(Path script, Path bin, Path workdir) throws Exception {
        return tofuSh(script, bin, workdir, "plan", "-var", "region=eu-west-1");
    }

    static Run tofuSh(Path script, Path bin, Path workdir, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", script.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PATH", bin + ":/usr/bin:/bin");
        if (workdir != null) {
            pb.directory(workdir.toFile());
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(30, TimeUnit.SECONDS);
        return new Run(p.exitValue(), out);
    }

    @Test
    void tofuShRunsOpenTofuOnlyNewEnoughAndWarnsOfAForeignState(@TempDir Path dir) throws Exception {
        Path here = Files.createDirectories(dir.resolve("tofu"));
        Path script = here.resolve("tofu.sh");
        Files.copy(TOFU.resolve("tofu.sh"), script);
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Run none = tofuSh(script, bin, null);
        assertEquals(2, none.exit());
        assertTrue(none.out().contains("OpenTofu is not installed"), none.out());

        Path fake = bin.resolve("tofu");
        Files.writeString(fake, "#!/bin/sh\nif [ \"$1\" = version ]; then echo \"OpenTofu v1.7.3\"; exit 0; fi\necho \"ran tofu $*\"\n");
        fake.toFile().setExecutable(true);
        Run old = tofuSh(script, bin, null);
        assertEquals(2, old.exit());
        assertTrue(old.out().contains("1.7 is too old"), old.out());
        Files.writeString(fake, "#!/bin/sh\nif [ \"$1\" = version ]; then echo \"OpenTofu v1.9.1\"; exit 0; fi\necho \"ran tofu $*\"\n");
        assertTrue(tofuSh(script, bin, null).out().contains("1.9 is too old"), "the state's S3 locking needs 1.10");

        Files.writeString(fake, "#!/bin/sh\nif [ \"$1\" = version ]; then echo \"OpenTofu v1.10.2\"; exit 0; fi\necho \"ran tofu $* in $(pwd)\"\n");
        Run ok = tofuSh(script, bin, dir);
        assertEquals(0, ok.exit(), ok.out());
        assertTrue(ok.out().contains("ran tofu plan -var region=eu-west-1 in " + here), "every argument passed on, in deploy/tofu: " + ok.out());
        Files.writeString(here.resolve("backend.hcl"), "bucket = \"b\"\n");
        Run init = tofuSh(script, bin, dir, "init");
        assertTrue(init.out().contains("ran tofu init -backend-config=backend.hcl in " + here), "the state's backend, never local: " + init.out());
        Files.delete(here.resolve("backend.hcl"));

        // An impostor on the PATH under tofu's name: refused.
        Files.writeString(fake, "#!/bin/sh\nif [ \"$1\" = version ]; then echo \"Terraform v1.9.1\"; exit 0; fi\necho ran\n"); // refused
        Run impostor = tofuSh(script, bin, null);
        assertEquals(2, impostor.exit());
        assertTrue(impostor.out().contains("is not OpenTofu"), impostor.out());

        Files.writeString(fake, "#!/bin/sh\nif [ \"$1\" = version ]; then echo \"OpenTofu v1.10.2\"; exit 0; fi\necho ran\n");
        Files.writeString(here.resolve(".terraform.lock.hcl"), "provider \"registry.terraform.io/hashicorp/aws\" {\n  version = \"5.80.0\"\n}\n");
        Run warned = tofuSh(script, bin, null);
        assertEquals(0, warned.exit());
        assertTrue(warned.out().contains("WARNING") && warned.out().contains("not OpenTofu"), warned.out());

        Path other = here.resolve("terraform"); // tofu.sh under the other tool's name: refused
        Files.createSymbolicLink(other, script);
        Run renamed = tofuSh(other, bin, null);
        assertEquals(2, renamed.exit());
        assertTrue(renamed.out().contains("refusing to run"), renamed.out());
    }
}
