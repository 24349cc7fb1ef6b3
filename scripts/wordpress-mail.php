<?php
/*
 * Castellan's test WordPress (scripts/start-wordpress.sh installs this as a must-use plugin):
 * mail goes over SMTP to the receiver a test names for the recipient, in
 * @ROUTES@/<address> (one line, HOST:PORT, e.g. Castellan's SMTP receiver for an automation
 * account's managed address). A message to anyone without a route is not sent (wp_mail()
 * returns false, as on a host without mail). Only loopback receivers are taken.
 *
 * Hooks: https://developer.wordpress.org/reference/hooks/pre_wp_mail/ and
 * https://developer.wordpress.org/reference/hooks/phpmailer_init/
 */

function castellan_test_mail_route($to)
{
    $to = strtolower(trim(is_array($to) ? (string) reset($to) : (string) $to));
    if (preg_match('/<([^>]+)>/', $to, $m)) {
        $to = $m[1];
    }
    if (!preg_match('/^[a-z0-9._+-]+@[a-z0-9.-]+$/', $to)) {
        return null;
    }
    $line = trim((string) @file_get_contents('@ROUTES@/' . $to));
    if (!preg_match('/^(127\.0\.0\.1|localhost):(\d{1,5})$/', $line, $m)) {
        return null;
    }
    return [$m[1], (int) $m[2]];
}

add_filter('pre_wp_mail', function ($short, $atts) {
    return castellan_test_mail_route($atts['to']) === null ? false : $short;
}, 10, 2);

add_filter('wp_mail_from', function () {
    return 'wordpress@wordpress.test';
});

add_action('phpmailer_init', function ($mailer) {
    $to = $mailer->getToAddresses();
    $route = castellan_test_mail_route($to ? $to[0][0] : '');
    if ($route === null) {
        return;
    }
    $mailer->isSMTP();
    [$mailer->Host, $mailer->Port] = $route;
    $mailer->SMTPAuth = false;
    $mailer->SMTPAutoTLS = false;
    $mailer->SMTPSecure = '';
    $mailer->Timeout = 10;
});
