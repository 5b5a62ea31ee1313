package dev.gpudev.core;

import java.util.regex.Pattern;

/**
 * The one grammar for names users choose (users, disks, reservations): a leading lowercase letter or
 * digit, then lowercase letters, digits, '.', '_' and '-', at most 63 in all. Nothing that could be a
 * path ("..", "/"), an option ("-x") or a hidden file (".x"). Files are named by ids, never by these
 * names, but a name that cannot be a path is a second wall.
 */
public final class Names {
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    private Names() {
    }

    public static boolean valid(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** Checks a name; throws {@link ValidationException} naming the field and the rule. */
    public static String check(String field, String name) {
        if (!valid(name)) {
            throw new ValidationException(field + " '" + shown(name) + "' is not valid: use 1-63 lowercase letters, digits, '.', '_'"
                    + " and '-', starting with a letter or digit");
        }
        return name;
    }

    /** User input as it may appear in a message: printable, and at most 40 characters. */
    public static String shown(String s) {
        if (s == null) {
            return "";
        }
        String cut = s.length() > 40 ? s.substring(0, 40) + "…" : s;
        return cut.replaceAll("\\p{Cntrl}", "?");
    }
}
