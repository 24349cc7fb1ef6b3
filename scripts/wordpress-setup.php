<?php
// Part of scripts/start-wordpress.sh: sets up the test WordPress through its own PHP API (what
// wp-cli would do), idempotently. Run with the PHP CLI:
//   php scripts/wordpress-setup.php CONFIG_NAME HOST:PORT DIR
// where CONFIG_NAME picks /etc/wordpress/config-CONFIG_NAME.php (Debian's wp-config.php reads
// $_SERVER['WORDPRESS_CONFIG']). It
//   - installs the site when it is not (wp_install) with the administrator `admin`, whose
//     password is DIR/admin-password;
//   - sets pretty permalinks (/%postname%/), so /wp-json/ works beside ?rest_route=;
//   - adds the custom role `castellan_reviewer` (read, edit_posts), so tests can check that the
//     connector reads custom roles;
//   - keeps one Application Password named `castellan-tests` for `admin`: when DIR/app-password
//     is missing or no longer matches, it deletes the old one and writes a new one to
//     DIR/app-password (mode 0600).
// It prints nothing secret.
[$self, $config, $host, $dir] = $argv + [null, null, null, null];
if (!$config || !$host || !$dir) {
    fwrite(STDERR, "usage: php $self CONFIG_NAME HOST:PORT DIR\n");
    exit(2);
}
$_SERVER['WORDPRESS_CONFIG'] = $config;
$_SERVER['HTTP_HOST'] = $host;
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_NAME'] = explode(':', $host)[0];
define('WP_INSTALLING', true);
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

// A test site sends no mail (wp_install() writes to the new administrator).
add_filter('pre_wp_mail', '__return_false');

const ADMIN = 'admin';
const APP_NAME = 'castellan-tests';

function secret_file(string $path, string $value): void
{
    $old = umask(077);
    file_put_contents($path, $value . "\n");
    umask($old);
    chmod($path, 0600);
}

$admin_pass = trim((string) @file_get_contents("$dir/admin-password"));
if ($admin_pass === '') {
    $admin_pass = wp_generate_password(24, false);
    secret_file("$dir/admin-password", $admin_pass);
}

if (!is_blog_installed()) {
    wp_install('Castellan test site', ADMIN, 'admin@example.test', false, '', $admin_pass);
    echo "installed WordPress {$GLOBALS['wp_version']}\n";
}
$admin = get_user_by('login', ADMIN);
if (!$admin) {
    fwrite(STDERR, "the administrator '" . ADMIN . "' is missing\n");
    exit(1);
}
if (!wp_check_password($admin_pass, $admin->user_pass, $admin->ID)) {
    wp_set_password($admin_pass, $admin->ID);
}
if (!in_array('administrator', (array) $admin->roles, true)) {
    $admin->set_role('administrator');
}

if (get_option('permalink_structure') !== '/%postname%/') {
    update_option('permalink_structure', '/%postname%/');
    flush_rewrite_rules(false);
}

if (!get_role('castellan_reviewer')) {
    add_role('castellan_reviewer', 'Castellan Reviewer', ['read' => true, 'edit_posts' => true]);
    echo "added the custom role castellan_reviewer\n";
}

$current = trim((string) @file_get_contents("$dir/app-password"));
$valid = false;
foreach (WP_Application_Passwords::get_user_application_passwords($admin->ID) as $item) {
    if ($item['name'] !== APP_NAME) {
        continue;
    }
    // As wp_authenticate_application_password() checks it: letters and digits only.
    $plain = preg_replace('/[^a-z\d]/i', '', $current);
    if ($plain !== '' && !$valid && wp_check_password($plain, $item['password'])) {
        $valid = true;
    } else {
        WP_Application_Passwords::delete_application_password($admin->ID, $item['uuid']);
    }
}
if (!$valid) {
    $made = WP_Application_Passwords::create_new_application_password($admin->ID, ['name' => APP_NAME]);
    if (is_wp_error($made)) {
        fwrite(STDERR, 'cannot create an application password: ' . $made->get_error_message() . "\n");
        exit(1);
    }
    secret_file("$dir/app-password", $made[0]);
    echo "made a new application password for " . ADMIN . "\n";
}
