package dev.gpudev.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The OpenTofu code without a cloud or a tofu binary: every .tf file parsed to JSON offline (the npm
 * package @cdktf/hcl2json, installed here by npm from deploy/tofu/check's lock file), then every
 * reference resolved across the modules: variables, locals, resources and data sources of the module
 * that uses them, module calls to modules that exist with inputs they declare (and every input they
 * require), outputs of called modules that exist.
 */
final class TofuCheck {
    static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern VAR = Pattern.compile("\\bvar\\.([A-Za-z0-9_-]+)");
    private static final Pattern LOCAL = Pattern.compile("\\blocal\\.([A-Za-z0-9_-]+)");
    private static final Pattern MODULE = Pattern.compile("\\bmodule\\.([A-Za-z0-9_-]+)(?:\\.([A-Za-z0-9_-]+))?");
    private static final Pattern DATA = Pattern.compile("\\bdata\\.([a-z0-9_]+)\\.([A-Za-z0-9_-]+)");
    private static final Pattern RESOURCE = Pattern.compile("(?<![.\\w])((?:aws|kubernetes|helm|tls|random|null)_[a-z0-9_]+)\\.([A-Za-z_][A-Za-z0-9_-]*)");
    private static final Set<String> META = Set.of("source", "version", "providers", "depends_on", "count", "for_each");

    /** One module directory's declarations and its expressions. */
    static final class Module {
        final Path dir;
        final Map<String, Boolean> variables = new LinkedHashMap<>(); // name -> has a default
        final Set<String> locals = new TreeSet<>();
        final Set<String> outputs = new TreeSet<>();
        final Set<String> resources = new TreeSet<>();
        final Set<String> data = new TreeSet<>();
        final Map<String, JsonNode> calls = new LinkedHashMap<>();
        final List<String> expressions = new ArrayList<>();

        Module(Path dir) {
            this.dir = dir;
        }
    }

    private TofuCheck() {
    }

    /** Installs the parser where it is not yet (npm ci from the committed lock file). */
    static Path parserDir(Path tofu) throws IOException, InterruptedException {
        Path check = tofu.resolve("check");
        if (!Files.isDirectory(check.resolve("node_modules/@cdktf/hcl2json"))) {
            Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund", "--silent").directory(check.toFile())
                    .redirectErrorStream(true).start();
            String out = new String(npm.getInputStream().readAllBytes());
            if (!npm.waitFor(300, TimeUnit.SECONDS) || npm.exitValue() != 0) {
                throw new IllegalStateException("npm ci in " + check + " failed (the checks need Node.js and npm):\n" + out);
            }
        }
        return check;
    }

    /** Every .tf file under the directory, parsed. */
    static Map<Path, JsonNode> parse(Path tofu, Path root) throws IOException, InterruptedException {
        List<String> files;
        try (Stream<Path> walk = Files.walk(root)) {
            files = walk.filter(p -> p.toString().endsWith(".tf") && !p.toString().contains("node_modules")
                    && !p.toString().contains("/.terraform/")).map(Path::toString).sorted().toList();
        }
        List<String> cmd = new ArrayList<>(List.of("node", parserDir(tofu).resolve("hcl2json.mjs").toString()));
        cmd.addAll(files);
        Process node = new ProcessBuilder(cmd).directory(parserDir(tofu).toFile()).start();
        byte[] out = node.getInputStream().readAllBytes();
        String err = new String(node.getErrorStream().readAllBytes());
        if (!node.waitFor(120, TimeUnit.SECONDS) || node.exitValue() != 0) {
            throw new IllegalStateException("a .tf file does not parse:\n" + err);
        }
        Map<Path, JsonNode> parsed = new LinkedHashMap<>();
        JSON.readTree(out).properties().forEach(e -> parsed.put(Path.of(e.getKey()), e.getValue()));
        return parsed;
    }

    static Map<Path, Module> modules(Map<Path, JsonNode> parsed) {
        Map<Path, Module> modules = new LinkedHashMap<>();
        parsed.forEach((file, doc) -> {
            Module m = modules.computeIfAbsent(file.getParent().normalize(), Module::new);
            doc.path("variable").properties().forEach(e -> m.variables.put(e.getKey(), e.getValue().get(0).has("default")));
            doc.path("locals").forEach(block -> block.properties().forEach(e -> m.locals.add(e.getKey())));
            doc.path("output").properties().forEach(e -> m.outputs.add(e.getKey()));
            doc.path("resource").properties().forEach(t -> t.getValue().properties().forEach(n -> m.resources.add(t.getKey() + "." + n.getKey())));
            doc.path("data").properties().forEach(t -> t.getValue().properties().forEach(n -> m.data.add(t.getKey() + "." + n.getKey())));
            doc.path("module").properties().forEach(e -> m.calls.put(e.getKey(), e.getValue().get(0)));
            collect(doc, m.expressions);
        });
        return modules;
    }

    private static void collect(JsonNode n, List<String> into) {
        if (n.isTextual() && n.asText().contains("${")) {
            into.add(n.asText());
        } else if (n.isContainerNode()) {
            n.forEach(c -> collect(c, into));
            if (n.isObject()) {
                n.properties().forEach(e -> {
                    if (e.getKey().contains("${")) {
                        into.add(e.getKey());
                    }
                });
            }
        }
    }

    /** What does not resolve, one line each; empty when everything does. */
    static List<String> dangling(Map<Path, Module> modules) {
        List<String> problems = new ArrayList<>();
        for (Module m : modules.values()) {
            String where = m.dir.getFileName().toString();
            for (String e : m.expressions) {
                String expr = e;
                Matcher d = DATA.matcher(expr);
                while (d.find()) {
                    if (!m.data.contains(d.group(1) + "." + d.group(2))) {
                        problems.add(where + ": data." + d.group(1) + "." + d.group(2) + " is not declared");
                    }
                }
                expr = DATA.matcher(expr).replaceAll("");
                Matcher v = VAR.matcher(expr);
                while (v.find()) {
                    if (!m.variables.containsKey(v.group(1))) {
                        problems.add(where + ": var." + v.group(1) + " is not declared");
                    }
                }
                Matcher l = LOCAL.matcher(expr);
                while (l.find()) {
                    if (!m.locals.contains(l.group(1))) {
                        problems.add(where + ": local." + l.group(1) + " is not defined");
                    }
                }
                Matcher c = MODULE.matcher(expr);
                while (c.find()) {
                    JsonNode call = m.calls.get(c.group(1));
                    if (call == null) {
                        problems.add(where + ": module." + c.group(1) + " is not called");
                        continue;
                    }
                    Module target = modules.get(m.dir.resolve(call.path("source").asText()).normalize());
                    if (target != null && c.group(2) != null && !target.outputs.contains(c.group(2))) {
                        problems.add(where + ": module." + c.group(1) + "." + c.group(2) + " is not an output of " + call.path("source").asText());
                    }
                }
                Matcher r = RESOURCE.matcher(expr);
                while (r.find()) {
                    if (!m.resources.contains(r.group(1) + "." + r.group(2))) {
                        problems.add(where + ": " + r.group(1) + "." + r.group(2) + " is not declared");
                    }
                }
            }
            m.calls.forEach((name, call) -> {
                String source = call.path("source").asText();
                Module target = modules.get(m.dir.resolve(source).normalize());
                if (target == null) {
                    problems.add(where + ": module " + name + " calls " + source + ", which has no .tf files");
                    return;
                }
                call.properties().forEach(in -> {
                    if (!META.contains(in.getKey()) && !target.variables.containsKey(in.getKey())) {
                        problems.add(where + ": module " + name + " passes " + in.getKey() + ", which " + source + " does not declare");
                    }
                });
                target.variables.forEach((var, hasDefault) -> {
                    if (!hasDefault && !call.has(var)) {
                        problems.add(where + ": module " + name + " does not pass " + var + ", which " + source + " requires");
                    }
                });
            });
        }
        return problems;
    }

    /** Names declared twice in one module (a variable, an output, a local, a resource or a data source): tofu refuses them. */
    static List<String> duplicates(Map<Path, JsonNode> parsed) {
        Map<String, Integer> seen = new HashMap<>();
        parsed.forEach((file, doc) -> {
            String module = file.getParent().normalize().toString();
            for (String kind : List.of("variable", "output")) {
                doc.path(kind).properties().forEach(e -> seen.merge(module + " " + kind + " " + e.getKey(), e.getValue().size(), Integer::sum));
            }
            doc.path("locals").forEach(block -> block.properties().forEach(e -> seen.merge(module + " local " + e.getKey(), 1, Integer::sum)));
            for (String kind : List.of("resource", "data")) {
                doc.path(kind).properties().forEach(t -> t.getValue().properties()
                        .forEach(n -> seen.merge(module + " " + kind + " " + t.getKey() + "." + n.getKey(), n.getValue().size(), Integer::sum)));
            }
        });
        return seen.entrySet().stream().filter(e -> e.getValue() > 1).map(e -> e.getKey() + " is declared " + e.getValue() + " times").sorted().toList();
    }

    /**
     * What the providers would refuse, or accept and then do wrong, that a parse cannot see: a small rule set from
     * the providers' sources and docs (each rule says where it comes from). One line per broken rule.
     */
    static List<String> providerRules(Map<Path, JsonNode> parsed) {
        List<String> problems = new ArrayList<>();
        boolean selfManagedAddonsOff = false;
        Map<String, JsonNode> launchTemplates = new HashMap<>();
        for (JsonNode doc : parsed.values()) {
            for (JsonNode c : each(doc.path("resource").path("aws_eks_cluster"))) {
                selfManagedAddonsOff |= "false".equals(c.path("bootstrap_self_managed_addons").asText());
            }
            doc.path("resource").path("aws_launch_template").properties().forEach(e -> launchTemplates.put(e.getKey(), e.getValue().get(0)));
        }
        boolean addonsOff = selfManagedAddonsOff;
        for (var entry : parsed.entrySet()) {
            String file = entry.getKey().getParent().getFileName() + "/" + entry.getKey().getFileName();
            JsonNode resources = entry.getValue().path("resource");
            resources.path("aws_eks_node_group").properties().forEach(e -> {
                JsonNode g = e.getValue().get(0);
                String where = file + ": aws_eks_node_group." + e.getKey();
                // the AWS provider's node_group.go: max_size is validation.IntAtLeast(1)
                JsonNode max = g.path("scaling_config").path(0).path("max_size");
                if (max.isNumber() && max.asInt() < 1 || max.isTextual()
                        && !max.asText().matches("(?s).*(\\bmax\\(\\s*1\\s*,|\\+\\s*[1-9]).*")) {
                    problems.add(where + ": max_size may be 0, which the provider refuses (at least 1; min_size may be 0)");
                }
                // a group that launches into a reservation or a Capacity Block must keep to its availability zone
                String lt = g.path("launch_template").path(0).path("id").asText();
                Matcher ltName = Pattern.compile("aws_launch_template\\.([A-Za-z0-9_-]+)").matcher(lt);
                JsonNode template = ltName.find() ? launchTemplates.get(ltName.group(1)) : null;
                boolean reserved = template != null && template.toString().contains("capacity_reservation_specification");
                JsonNode subnets = g.path("subnet_ids");
                if (reserved && !(subnets.isArray() && subnets.size() == 1)) {
                    problems.add(where + ": it launches into a capacity reservation or block (one availability zone) but spans several subnets");
                }
                // EKS CreateNodegroup: capacityType CAPACITY_BLOCK needs the launch template's capacity-block market
                if (g.has("capacity_type") && (template == null || !template.toString().contains("instance_market_options")
                        || !template.toString().contains("capacity-block"))) {
                    problems.add(where + ": capacity_type may be CAPACITY_BLOCK but its launch template has no"
                            + " instance_market_options { market_type = \"capacity-block\" }");
                }
            });
            resources.path("aws_eks_addon").properties().forEach(e -> {
                JsonNode a = e.getValue().get(0);
                // EKS: a configured vpc-cni add-on over the self-managed CNI EKS installs conflicts on every field it sets
                if ("vpc-cni".equals(a.path("addon_name").asText()) && a.has("configuration_values") && !addonsOff
                        && !"OVERWRITE".equals(a.path("resolve_conflicts_on_create").asText())) {
                    problems.add(file + ": aws_eks_addon." + e.getKey() + ": configured vpc-cni over the self-managed CNI without"
                            + " resolve_conflicts_on_create = \"OVERWRITE\" (or bootstrap_self_managed_addons = false): its settings may never apply");
                }
            });
            resources.path("aws_cloudfront_distribution").properties().forEach(e -> {
                for (JsonNode origin : each(e.getValue().get(0).path("origin"))) {
                    String policy = origin.path("custom_origin_config").path(0).path("origin_protocol_policy").asText("");
                    if (policy.equals("http-only") || policy.equals("match-viewer")) {
                        problems.add(file + ": aws_cloudfront_distribution." + e.getKey() + ": origin " + origin.path("origin_id").asText()
                                + " is reached over the internet in clear (" + policy + "): https-only, or a VPC origin");
                    }
                }
            });
        }
        return problems;
    }

    private static Iterable<JsonNode> each(JsonNode n) {
        List<JsonNode> out = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(out::add);
        } else if (n.isObject()) {
            n.properties().forEach(e -> {
                if (e.getValue().isArray()) {
                    e.getValue().forEach(out::add);
                } else {
                    out.add(e.getValue());
                }
            });
        }
        return out;
    }

    static Map<String, Object> summary(Map<Path, Module> modules) {
        Map<String, Object> s = new HashMap<>();
        modules.forEach((dir, m) -> s.put(dir.getFileName().toString(), m.resources.size() + m.data.size()));
        return s;
    }
}
