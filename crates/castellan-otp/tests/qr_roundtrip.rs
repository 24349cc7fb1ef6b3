//! QR codes: an account written as a PNG (and re-encoded as JPEG) reads back to the same
//! parameters; bad uploads get clear errors.

use std::io::Cursor;

use castellan_otp::{
    decode_qr_image, parse_migration, parse_uri, qr_png, to_uri, Algorithm, Kind, OtpError,
    OtpParams, Secret,
};
use image::{DynamicImage, GrayImage, ImageFormat, Luma, LumaA};

fn account() -> OtpParams {
    let mut p = OtpParams::new(
        Kind::Totp,
        Secret::from_bytes(b"12345678901234567890123456789012".to_vec()),
    );
    p.algorithm = Algorithm::Sha256;
    p.digits = 8;
    p.period = 60;
    p.issuer = Some("ACME Co".into());
    p.label_issuer = Some("ACME Co".into());
    p.account_name = Some("john.doe@email.com".into());
    p
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

#[test]
fn png_round_trip_gives_the_same_parameters() {
    for p in [
        account(),
        {
            let mut h = OtpParams::new(Kind::Hotp, Secret::from_bytes(vec![7; 10]));
            h.counter = 42;
            h.account_name = Some("hotp ünïcødé".into());
            h
        },
        OtpParams::new(Kind::Steam, Secret::from_bytes(vec![9; 20])),
    ] {
        let png = qr_png(&p).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG signature");
        let text = decode_qr_image(&png).unwrap();
        assert_eq!(text, to_uri(&p));
        let (back, _) = parse_uri(&text).unwrap();
        assert_eq!(back, p);
    }
}

#[test]
fn jpeg_photo_of_the_code_reads_too() {
    let png = qr_png(&account()).unwrap();
    let image = image::load_from_memory(&png).unwrap();
    let jpeg = encode(&DynamicImage::ImageRgb8(image.to_rgb8()), ImageFormat::Jpeg);
    assert!(jpeg.starts_with(&[0xff, 0xd8]), "JPEG signature");
    let (back, _) = parse_uri(&decode_qr_image(&jpeg).unwrap()).unwrap();
    assert_eq!(back, account());
}

#[test]
fn transparent_background_reads_as_white() {
    // Black modules on a fully transparent background (luma 0 everywhere, alpha carries the code).
    let png = qr_png(&account()).unwrap();
    let grey = image::load_from_memory(&png).unwrap().to_luma8();
    let transparent = image::ImageBuffer::from_fn(grey.width(), grey.height(), |x, y| {
        let dark = grey.get_pixel(x, y).0[0] < 128;
        LumaA([0u8, if dark { 255 } else { 0 }])
    });
    let bytes = encode(&DynamicImage::ImageLumaA8(transparent), ImageFormat::Png);
    assert_eq!(decode_qr_image(&bytes).unwrap(), to_uri(&account()));
}

#[test]
fn migration_export_in_a_qr_code() {
    // A QR code holding a published Google Authenticator export (scito/extract_otp_secrets,
    // example_export.txt: "otpauth://hotp/hotp%20demo?secret=7KSQL2JTUDIS5EF65KLMRQIIGY&counter=4").
    let uri = "otpauth-migration://offline?data=CiUKEPqlBekzoNEukL7qlsjBCDYSCWhvdHAgZGVtbyABKAEwATgEEAEYASAAKNuv15j6%2F%2F%2F%2F%2FwE%3D";
    let code = qrcode::QrCode::new(uri.as_bytes()).unwrap();
    let image = DynamicImage::ImageLuma8(code.render::<Luma<u8>>().build());
    let text = decode_qr_image(&encode(&image, ImageFormat::Png)).unwrap();
    let accounts = parse_migration(&text).unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].0.counter, 4);
    assert_eq!(
        accounts[0].0.secret.to_base32(),
        "7KSQL2JTUDIS5EF65KLMRQIIGY"
    );
}

#[test]
fn not_an_image() {
    assert_eq!(
        decode_qr_image(b"otpauth://totp/x"),
        Err(OtpError::NotAnImage)
    );
    assert_eq!(decode_qr_image(b""), Err(OtpError::NotAnImage));
    // A 1×1 GIF header: a real image format, but not one an authenticator export uses.
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    assert_eq!(decode_qr_image(gif), Err(OtpError::NotAnImage));
    assert_eq!(
        OtpError::NotAnImage.to_string(),
        "not an image: expected a PNG or JPEG file"
    );
}

#[test]
fn damaged_image() {
    let png = qr_png(&account()).unwrap();
    let err = decode_qr_image(&png[..png.len() / 2]).unwrap_err();
    assert!(matches!(err, OtpError::ImageDecode(_)), "{err:?}");
}

#[test]
fn no_qr_code_in_a_blank_image() {
    let blank = GrayImage::from_pixel(300, 300, Luma([255]));
    let png = encode(&DynamicImage::ImageLuma8(blank), ImageFormat::Png);
    assert_eq!(decode_qr_image(&png), Err(OtpError::NoQrCode));
    assert_eq!(
        OtpError::NoQrCode.to_string(),
        "no QR code found in the image"
    );
}

#[test]
fn file_over_10_mib_is_refused_before_reading() {
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(10 * 1024 * 1024 + 1, 0);
    assert_eq!(
        decode_qr_image(&big),
        Err(OtpError::FileTooLarge {
            bytes: 10 * 1024 * 1024 + 1
        })
    );
    assert!(decode_qr_image(&big)
        .unwrap_err()
        .to_string()
        .starts_with("image too large"));
}

#[test]
fn image_over_20_megapixels_is_refused() {
    // 5000 × 4001 = 20,005,000 pixels: a small file (one colour compresses well), a big image.
    let wide = GrayImage::from_pixel(5000, 4001, Luma([255]));
    let png = encode(&DynamicImage::ImageLuma8(wide), ImageFormat::Png);
    assert!(png.len() < 10 * 1024 * 1024);
    assert_eq!(
        decode_qr_image(&png),
        Err(OtpError::ImageTooLarge {
            width: 5000,
            height: 4001
        })
    );
}
