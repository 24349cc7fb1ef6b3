//! QR codes: writing an account's URI as a PNG, and reading the text of a QR code from an
//! uploaded PNG or JPEG (the `qrcode` crate encodes, `rqrr` decodes, `image` does the files).

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, ImageReader, Limits, Luma};
use qrcode::{EcLevel, QrCode};

use crate::{to_uri, OtpError, OtpParams};

/// Largest upload [`decode_qr_image`] reads: 10 MiB.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// Largest image [`decode_qr_image`] decodes: 20 megapixels (width × height).
pub const MAX_IMAGE_PIXELS: u64 = 20_000_000;

/// Side of one QR module in the PNG, in pixels.
const MODULE_PIXELS: u32 = 8;

/// The account's `otpauth://` URI ([`to_uri`]) as a QR code, as PNG bytes.
///
/// Output: a greyscale PNG, black modules on white, 8 pixels per module, with the 4-module
/// quiet zone; error correction level M (15 %), as authenticator apps expect.
///
/// Errors: [`OtpError::QrEncode`] if the URI is too long for a QR code (about 2,300
/// characters at level M); [`OtpError::PngEncode`] if writing the PNG fails.
pub fn qr_png(p: &OtpParams) -> Result<Vec<u8>, OtpError> {
    let uri = zeroize::Zeroizing::new(to_uri(p));
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|e| OtpError::QrEncode(e.to_string()))?;
    let image = code
        .render::<image::Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(MODULE_PIXELS, MODULE_PIXELS)
        .build();
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| OtpError::PngEncode(e.to_string()))?;
    Ok(png)
}

/// Reads the text of the first QR code found in a PNG or JPEG image.
///
/// Input: the file's bytes (at most [`MAX_IMAGE_BYTES`]; at most [`MAX_IMAGE_PIXELS`] once the
/// header is read, before any pixel is decoded). The format is recognised from the content,
/// not from a file name.
///
/// Output: the QR code's text, as encoded (usually an `otpauth://` or
/// `otpauth-migration://` URI; pass it to [`crate::parse_uri`] or [`crate::parse_migration`]).
///
/// Errors: [`OtpError::FileTooLarge`], [`OtpError::NotAnImage`] (neither PNG nor JPEG),
/// [`OtpError::ImageTooLarge`], [`OtpError::ImageDecode`] (damaged file),
/// [`OtpError::NoQrCode`], [`OtpError::QrUnreadable`] (a code was found, but its content
/// could not be decoded, e.g. too blurred).
pub fn decode_qr_image(bytes: &[u8]) -> Result<String, OtpError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(OtpError::FileTooLarge { bytes: bytes.len() });
    }
    let format = match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg)) => format,
        _ => return Err(OtpError::NotAnImage),
    };
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| OtpError::ImageDecode(e.to_string()))?;
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(OtpError::ImageTooLarge { width, height });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // 8 bytes per pixel covers 16-bit RGBA, the widest PNG layout, plus the greyscale copy.
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 10);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| OtpError::ImageDecode(e.to_string()))?;
    let mut prepared = rqrr::PreparedImage::prepare(grey_on_white(&image));
    let grids = prepared.detect_grids();
    let mut last_error = None;
    for grid in &grids {
        match grid.decode() {
            Ok((_meta, content)) => return Ok(content),
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    Err(last_error.map_or(OtpError::NoQrCode, OtpError::QrUnreadable))
}

/// The image in greyscale, with transparent pixels laid over white: QR codes exported with a
/// transparent background would otherwise read as black on black.
fn grey_on_white(image: &DynamicImage) -> GrayImage {
    if !image.color().has_alpha() {
        return image.to_luma8();
    }
    let with_alpha = image.to_luma_alpha8();
    GrayImage::from_fn(image.width(), image.height(), |x, y| {
        let [luma, alpha] = with_alpha.get_pixel(x, y).0;
        let (luma, alpha) = (u32::from(luma), u32::from(alpha));
        let blended = (luma * alpha + 255 * (255 - alpha)) / 255;
        Luma([u8::try_from(blended).unwrap_or(u8::MAX)])
    })
}
