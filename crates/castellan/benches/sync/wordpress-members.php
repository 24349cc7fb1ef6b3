<?php
// Part of the sync bench (wordpress.rs): makes the bench WordPress hold exactly N subscribers
// `bench_00000`… (email `bench_00000@example.com`, display name `Bench member 0`) beside the
// administrator `admin`, through WordPress's own PHP API in one process (wp_insert_user, as
// scripts/wordpress-setup.php does its setup), in transactions of 500: much faster than N REST
// POSTs through PHP's one-request-at-a-time server. Run with the PHP CLI:
//   php wordpress-members.php CONFIG_NAME HOST:PORT N
// where CONFIG_NAME picks /etc/wordpress/config-CONFIG_NAME.php. Users other than `admin` and
// the N wanted are deleted (this is the bench's own site). Every member gets the same password,
// hashed once (the members never sign in; hashing it N times would be most of the work).
// Prints what it did; nothing secret.
[$self, $config, $host, $n] = $argv + [null, null, null, null];
if (!$config || !$host || !is_numeric($n)) {
    fwrite(STDERR, "usage: php $self CONFIG_NAME HOST:PORT N\n");
    exit(2);
}
$n = (int) $n;
$_SERVER['WORDPRESS_CONFIG'] = $config;
$_SERVER['HTTP_HOST'] = $host;
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_NAME'] = explode(':', $host)[0];

// Pluggable (wp-includes/pluggable.php defines it only when it is not defined): the members'
// one password is hashed once, as WordPress 6.1 hashes (phpass, portable), then reused.
function wp_hash_password($password)
{
    static $hash = null;
    if ($hash === null) {
        require_once ABSPATH . WPINC . '/class-phpass.php';
        $hash = (new PasswordHash(8, true))->HashPassword(trim($password));
    }
    return $hash;
}

require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/user.php';
add_filter('pre_wp_mail', '__return_false');

$admin = get_user_by('login', 'admin');
if (!$admin) {
    fwrite(STDERR, "the administrator 'admin' is missing\n");
    exit(1);
}
$name = fn(int $i): string => sprintf('bench_%05d', $i);
$wanted = [];
for ($i = 0; $i < $n; $i++) {
    $wanted[$name($i)] = $i;
}

global $wpdb;
$existing = [];
$deleted = 0;
foreach ($wpdb->get_results("SELECT ID, user_login, user_email FROM {$wpdb->users}") as $u) {
    if ($u->user_login === 'admin') {
        continue;
    }
    if (isset($wanted[$u->user_login]) && $u->user_email === $u->user_login . '@example.com') {
        $existing[$u->user_login] = true;
        continue;
    }
    wp_delete_user((int) $u->ID, $admin->ID);
    $deleted++;
}
$missing = array_values(array_diff_key($wanted, $existing));
$t = microtime(true);
$made = 0;
foreach (array_chunk($missing, 500) as $chunk) {
    $wpdb->query('START TRANSACTION');
    foreach ($chunk as $i) {
        $login = $name($i);
        $id = wp_insert_user([
            'user_login' => $login,
            'user_email' => "$login@example.com",
            'user_pass' => 'bench-member-password',
            'display_name' => "Bench member $i",
            'role' => 'subscriber',
        ]);
        if (is_wp_error($id)) {
            $wpdb->query('ROLLBACK');
            fwrite(STDERR, "cannot create $login: " . $id->get_error_message() . "\n");
            exit(1);
        }
        $made++;
    }
    $wpdb->query('COMMIT');
    printf("created %d/%d (%.0f/s)\n", $made, count($missing), $made / max(microtime(true) - $t, 0.001));
}
printf("%d bench users wanted: %d existed, %d created, %d other users deleted\n", $n, count($existing), $made, $deleted);
