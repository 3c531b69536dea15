using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>
/// A system firmware image for the reset vector, mapped as QEMU's <c>-bios FILE</c> maps it: the whole
/// image read-only at the top of the 4 GiB space (ending at FFFFFFFFh), and its last 128 KiB (or the
/// whole image when smaller) also visible read-only below 1 MiB, ending at FFFFFh. The CPU then
/// starts from its reset state, CS = F000h with base FFFF0000h and IP = FFF0h, which fetches the
/// image's last 16 bytes. Like QEMU, the size must be a non-zero multiple of 64 KiB; Virt also caps it
/// at 2 MiB.
/// </summary>
public sealed class FirmwareImage
{
    /// <summary>The smallest image accepted (64 KiB).</summary>
    public const int MinSizeInBytes = 64 * 1024;

    /// <summary>The largest image accepted (2 MiB).</summary>
    public const int MaxSizeInBytes = 2 * 1024 * 1024;

    /// <summary>The image size must be a multiple of this (64 KiB), as QEMU requires.</summary>
    public const int SizeGranularityInBytes = 64 * 1024;

    /// <summary>The most of the image that is also visible below 1 MiB (128 KiB, E0000h-FFFFFh).</summary>
    public const int LowAliasMaxSizeInBytes = 128 * 1024;

    /// <summary>The default name of the high ROM region, as QEMU names it.</summary>
    public const string DefaultRegionName = "pc.bios";

    /// <summary>The default name of the low alias region, as QEMU names it.</summary>
    public const string DefaultAliasName = "isa-bios";

    private readonly byte[] _image;

    private FirmwareImage(string imageName, byte[] image)
    {
        ImageName = imageName;
        _image = image;
        ulong size = (ulong)image.Length;
        HighRange = AddressRange.FromStartAndSize(new PhysicalAddress(E820Map.FourGigabytes - size), size);
        ulong aliasSize = Math.Min(size, LowAliasMaxSizeInBytes);
        LowAliasRange = AddressRange.FromStartAndSize(new PhysicalAddress(E820Map.ExtendedMemoryStart - aliasSize), aliasSize);
    }

    /// <summary>The file (or display name) of the image.</summary>
    public string ImageName { get; }

    /// <summary>The image size in bytes.</summary>
    public int SizeInBytes => _image.Length;

    /// <summary>Where the whole image is mapped: the top of the 4 GiB space.</summary>
    public AddressRange HighRange { get; }

    /// <summary>Where the image's last 128 KiB (or all of it) is also visible: up to FFFFFh.</summary>
    public AddressRange LowAliasRange { get; }

    /// <summary>The image bytes.</summary>
    public ReadOnlySpan<byte> Image => _image;

    /// <summary>
    /// The state the CPU starts in: the processor's reset state, CS:IP = F000:FFF0 with the other
    /// selectors and general registers zero. The machine applies its CPU reset (which also gives CS the
    /// base FFFF0000h, so the first fetch is at FFFFFFF0h, and puts the processor signature in EDX);
    /// this record describes the same entry for logs.
    /// </summary>
    public BootEntryState Entry => BootEntryState.RealMode(0xF000, 0xFFF0, $"firmware {ImageName} ({SizeInBytes / 1024} KiB) at the reset vector F000:FFF0")
        with { Esp = 0, Ds = 0, Es = 0, Fs = 0, Gs = 0, Ss = 0 };

    /// <summary>Reads and validates an image from <paramref name="image"/> (from its start when seekable).</summary>
    /// <param name="image">The image stream.</param>
    /// <param name="imageName">The file name for messages.</param>
    /// <returns>The firmware image.</returns>
    /// <exception cref="BootImageException">When the size is not a multiple of 64 KiB between 64 KiB and 2 MiB.</exception>
    public static FirmwareImage Load(Stream image, string imageName)
    {
        ArgumentException.ThrowIfNullOrEmpty(imageName);
        ArgumentNullException.ThrowIfNull(image);
        if (image.CanSeek && image.Length > MaxSizeInBytes)
        {
            throw SizeError(imageName, image.Length);
        }

        return FromBytes(BootImageReader.ReadAll(image, imageName, nameof(image)), imageName);
    }

    /// <summary>Validates an image held in memory (the bytes are copied).</summary>
    /// <param name="image">The image bytes.</param>
    /// <param name="imageName">The file name for messages.</param>
    /// <returns>The firmware image.</returns>
    /// <exception cref="BootImageException">When the size is not a multiple of 64 KiB between 64 KiB and 2 MiB.</exception>
    public static FirmwareImage FromBytes(ReadOnlySpan<byte> image, string imageName)
    {
        ArgumentException.ThrowIfNullOrEmpty(imageName);
        if (image.Length < MinSizeInBytes || image.Length > MaxSizeInBytes || image.Length % SizeGranularityInBytes != 0)
        {
            throw SizeError(imageName, image.Length);
        }

        return new FirmwareImage(imageName, image.ToArray());
    }

    /// <summary>
    /// Adds the image to a memory map: a ROM region over <see cref="HighRange"/> and a read-only alias of
    /// its end over <see cref="LowAliasRange"/>. The map must leave both ranges free (no RAM at
    /// E0000h-FFFFFh when the image is 128 KiB or larger); the builder reports overlaps at <c>Build()</c>.
    /// </summary>
    /// <param name="builder">The memory map builder.</param>
    /// <param name="regionName">The name of the high ROM region.</param>
    /// <param name="aliasName">The name of the low alias region.</param>
    /// <returns>The builder.</returns>
    public PhysicalMemoryMapBuilder AddTo(PhysicalMemoryMapBuilder builder, string regionName = DefaultRegionName, string aliasName = DefaultAliasName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ulong size = (ulong)_image.Length;
        ulong aliasSize = LowAliasRange.SizeInBytesMinusOne + 1;
        builder.AddRom(regionName, HighRange.Start, size, _image);
        builder.AddAlias(aliasName, LowAliasRange.Start, aliasSize, regionName, new RegionOffset(size - aliasSize));
        return builder;
    }

    private static BootImageException SizeError(string imageName, long size) => new(
        imageName,
        "firmware image size",
        $"{size} bytes (0x{size:X}); a firmware image must be a multiple of 64 KiB between 64 KiB and 2 MiB");
}
