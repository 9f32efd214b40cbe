//! Image previews: a small re-encoded copy of an uploaded image, so the
//! message list never loads the full file. Decoding is bounded (pixels per
//! side and memory), so a decompression bomb fails instead of eating the
//! server's memory; re-encoding keeps only the pixels, so whatever metadata
//! the file carried (EXIF GPS and the like) is not in the preview.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, ImageResult, Limits,
};

/// A preview fits in a square of this many pixels; smaller images keep
/// their size.
pub(crate) const MAX_SIDE: u32 = 480;
/// Larger images are not decoded (no preview).
const MAX_DECODED_SIDE: u32 = 12_000;
/// The most one decode may allocate for pixels.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 80;

/// An encoded preview.
#[derive(Debug)]
pub(crate) struct Preview {
    pub bytes: Vec<u8>,
    /// `image/jpeg`, or `image/png` for an image with transparent pixels
    /// (JPEG has no alpha).
    pub mime: &'static str,
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

/// The preview of `data`, an image in `format`: turned upright, scaled to
/// fit in [`MAX_SIDE`]² (never up), re-encoded. An error when it does not
/// decode, or not within the limits. Animations give their first frame.
/// CPU-bound: run it off the async threads.
pub(crate) fn make_preview(data: &[u8], format: ImageFormat) -> ImageResult<Preview> {
    let mut reader = ImageReader::with_format(Cursor::new(data), format);
    reader.limits(limits());
    let mut decoder = reader.into_decoder()?;
    // The decoder checks the header's dimensions; the pixel buffer it is
    // about to allocate is checked here.
    limits().reserve(decoder.total_bytes())?;
    // A broken EXIF block costs the rotation, not the preview.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    if image.width() > MAX_SIDE || image.height() > MAX_SIDE {
        image = image.resize(MAX_SIDE, MAX_SIDE, FilterType::Triangle);
    }
    encode(&image)
}

fn encode(image: &DynamicImage) -> ImageResult<Preview> {
    let mut bytes = Vec::new();
    // An alpha channel whose pixels are all opaque (common in screenshots)
    // makes a JPEG like any photo.
    let transparent = image
        .color()
        .has_alpha()
        .then(|| image.to_rgba8())
        .filter(|rgba| rgba.pixels().any(|p| p[3] < u8::MAX));
    let mime = match transparent {
        Some(rgba) => {
            PngEncoder::new(&mut bytes).write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                ExtendedColorType::Rgba8,
            )?;
            "image/png"
        }
        None => {
            JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY).encode_image(&image.to_rgb8())?;
            "image/jpeg"
        }
    };
    Ok(Preview { bytes, mime })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    use super::*;

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }))
    }

    /// The preview decoded as what its type says, and its size.
    fn decoded(preview: &Preview) -> (DynamicImage, (u32, u32)) {
        let format = ImageFormat::from_mime_type(preview.mime).unwrap();
        let image = image::load_from_memory_with_format(&preview.bytes, format).unwrap();
        let size = (image.width(), image.height());
        (image, size)
    }

    #[test]
    fn a_large_photo_becomes_a_jpeg_of_at_most_480_pixels_with_its_aspect_ratio() {
        let png = encoded(&gradient(1600, 1200), ImageFormat::Png);
        let preview = make_preview(&png, ImageFormat::Png).unwrap();
        assert_eq!(preview.mime, "image/jpeg");
        assert_eq!(decoded(&preview).1, (480, 360));

        let tall = encoded(&gradient(300, 1500), ImageFormat::Jpeg);
        let preview = make_preview(&tall, ImageFormat::Jpeg).unwrap();
        assert_eq!(decoded(&preview).1, (96, 480));
    }

    #[test]
    fn a_transparent_image_stays_a_png_and_an_opaque_alpha_channel_makes_a_jpeg() {
        let clear = RgbaImage::from_fn(600, 300, |x, _| Rgba([200, 10, 10, if x < 300 { 0 } else { 255 }]));
        let png = encoded(&DynamicImage::ImageRgba8(clear), ImageFormat::Png);
        let preview = make_preview(&png, ImageFormat::Png).unwrap();
        assert_eq!(preview.mime, "image/png");
        let (back, size) = decoded(&preview);
        assert_eq!(size, (480, 240));
        let back = back.to_rgba8();
        assert_eq!(back.get_pixel(10, 10)[3], 0, "still transparent");
        assert_eq!(back.get_pixel(470, 10)[3], 255);

        let opaque = RgbaImage::from_pixel(50, 50, Rgba([1, 2, 3, 255]));
        let png = encoded(&DynamicImage::ImageRgba8(opaque), ImageFormat::Png);
        assert_eq!(make_preview(&png, ImageFormat::Png).unwrap().mime, "image/jpeg");
    }

    #[test]
    fn a_small_image_keeps_its_size() {
        let gif = encoded(&gradient(40, 30), ImageFormat::Gif);
        let preview = make_preview(&gif, ImageFormat::Gif).unwrap();
        assert_eq!(decoded(&preview).1, (40, 30));
    }

    #[test]
    fn garbage_and_truncated_files_give_no_preview() {
        assert!(make_preview(b"\x89PNG\r\n\x1a\nnot really a png at all", ImageFormat::Png).is_err());
        assert!(make_preview(b"", ImageFormat::Jpeg).is_err());
        let png = encoded(&gradient(200, 200), ImageFormat::Png);
        assert!(make_preview(&png[..png.len() / 2], ImageFormat::Png).is_err());
        // Decoded as what it was sniffed as, never as what it might be.
        assert!(make_preview(&png, ImageFormat::Gif).is_err());
    }

    /// A well-formed PNG (chunks with their CRCs) whose header claims a
    /// size, with a few bytes of pixel data behind it.
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8; 4], data: &[u8]| {
            let typed = [kind.as_slice(), data].concat();
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(&typed);
            out.extend_from_slice(&crc32fast::hash(&typed).to_be_bytes());
        };
        chunk(
            b"IHDR",
            &[&width.to_be_bytes()[..], &height.to_be_bytes(), &[8, 2, 0, 0, 0]].concat(),
        );
        chunk(b"IDAT", &[0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF]);
        chunk(b"IEND", &[]);
        out
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_it_allocates() {
        let started = Instant::now();
        let too_wide = make_preview(&png_claiming(100_000, 100_000), ImageFormat::Png).unwrap_err();
        assert!(matches!(too_wide, image::ImageError::Limits(_)), "{too_wide:?}");
        // Within the per-side limit, over the memory one (10000² RGB is 286 MiB).
        let too_big = make_preview(&png_claiming(10_000, 10_000), ImageFormat::Png).unwrap_err();
        assert!(matches!(too_big, image::ImageError::Limits(_)), "{too_big:?}");
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}
