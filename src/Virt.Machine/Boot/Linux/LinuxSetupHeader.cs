using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Virt.Machine.Boot;

/// <summary>
/// The setup header of a Linux bzImage (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel
/// Header"), as far as a 32-bit boot-protocol loader needs it. <see cref="Parse"/> validates it; fields
/// that the kernel's protocol version predates hold the documented defaults.
/// </summary>
public sealed record LinuxSetupHeader
{
    /// <summary>The oldest boot protocol supported (2.06, Linux 2.6.22: <c>cmdline_size</c>).</summary>
    public const ushort MinimumVersion = 0x0206;

    /// <summary><c>initrd_addr_max</c> for kernels that predate the field (protocol before 2.03).</summary>
    public const uint DefaultInitrdAddressMax = 0x37FF_FFFF;

    /// <summary>The number of 512-byte setup sectors (0 in the file means 4), at 1F1h.</summary>
    public required int SetupSectors { get; init; }

    /// <summary>The size of the protected-mode code in 16-byte units as the header states it (<c>syssize</c>, 1F4h).</summary>
    public required uint SysSize { get; init; }

    /// <summary>The boot protocol version (<c>version</c>, 206h), for example 0x020F for 2.15.</summary>
    public required ushort Version { get; init; }

    /// <summary>The boot protocol version as text, for example <c>2.15</c>.</summary>
    public string VersionText => string.Create(CultureInfo.InvariantCulture, $"{Version >> 8}.{Version & 0xFF:D2}");

    /// <summary>The kernel version string the header points at (<c>kernel_version</c>), or empty.</summary>
    public required string KernelVersion { get; init; }

    /// <summary><c>loadflags</c> (211h) as in the image.</summary>
    public required byte LoadFlags { get; init; }

    /// <summary><c>code32_start</c> (214h) as in the image (the default load address, 100000h).</summary>
    public required uint Code32Start { get; init; }

    /// <summary>The highest address the initrd may occupy (<c>initrd_addr_max</c>, 22Ch, inclusive).</summary>
    public required uint InitrdAddressMax { get; init; }

    /// <summary>The alignment a relocatable kernel needs (<c>kernel_alignment</c>, 230h).</summary>
    public required uint KernelAlignment { get; init; }

    /// <summary>Whether the kernel may be loaded at any <see cref="KernelAlignment"/>-aligned address (<c>relocatable_kernel</c>, 234h).</summary>
    public required bool RelocatableKernel { get; init; }

    /// <summary><c>xloadflags</c> (236h; protocol 2.12+, else 0).</summary>
    public required ushort XLoadFlags { get; init; }

    /// <summary>The longest command line without its terminating zero (<c>cmdline_size</c>, 238h).</summary>
    public required uint CommandLineSize { get; init; }

    /// <summary>
    /// The preferred load address (<c>pref_address</c>, 258h; protocol 2.10+), which is also where the
    /// kernel decompresses itself when loaded lower; for older kernels <see cref="Code32Start"/>.
    /// </summary>
    public required ulong PreferredAddress { get; init; }

    /// <summary>
    /// The linear memory the kernel needs from its runtime start before it reads the memory map
    /// (<c>init_size</c>, 260h; protocol 2.10+; for older kernels the protected-mode code size).
    /// </summary>
    public required uint InitSize { get; init; }

    /// <summary>The file offset where the setup header ends: 202h plus the byte at 201h.</summary>
    public required int HeaderEndOffset { get; init; }

    /// <summary>The file offset of the protected-mode kernel: (<see cref="SetupSectors"/> + 1) × 512.</summary>
    public int ProtectedModeOffset => (SetupSectors + 1) * 512;

    /// <summary>Whether loadflags has LOADED_HIGH (bit 0): the protected-mode code goes at 100000h.</summary>
    public bool LoadedHigh => (LoadFlags & BootParamsLayout.LoadedHigh) != 0;

    /// <summary>
    /// Parses and validates the setup header of <paramref name="image"/>: the file is long enough,
    /// <c>boot_flag</c> is AA55h, the magic <c>HdrS</c> is at 202h, the protocol is 2.06 or later,
    /// LOADED_HIGH is set and the protected-mode part is not empty.
    /// </summary>
    /// <param name="image">The whole bzImage.</param>
    /// <param name="imageName">The file name for messages.</param>
    /// <returns>The header.</returns>
    /// <exception cref="BootImageException">When the image is not a usable bzImage.</exception>
    public static LinuxSetupHeader Parse(ReadOnlySpan<byte> image, string imageName)
    {
        ArgumentException.ThrowIfNullOrEmpty(imageName);
        if (image.Length < BootParamsLayout.Version + 2)
        {
            throw new BootImageException(imageName, "setup header", $"the file is {image.Length} bytes, too short to hold a setup header (0x{BootParamsLayout.SetupHeader:X}-0x{BootParamsLayout.Version + 1:X}): truncated or not a bzImage");
        }

        ushort bootFlag = BinaryPrimitives.ReadUInt16LittleEndian(image[BootParamsLayout.BootFlag..]);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(image[BootParamsLayout.Header..]);
        if (magic != BootParamsLayout.HeaderMagic)
        {
            throw new BootImageException(imageName, "setup header magic", $"'HdrS' not found at offset 0x{BootParamsLayout.Header:X} (found 0x{magic:X8}): not a Linux bzImage, or older than boot protocol 2.00");
        }

        if (bootFlag != BootParamsLayout.BootFlagValue)
        {
            throw new BootImageException(imageName, "boot_flag", $"0x{bootFlag:X4} at offset 0x{BootParamsLayout.BootFlag:X}, expected 0xAA55");
        }

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(image[BootParamsLayout.Version..]);
        if (version < MinimumVersion)
        {
            throw new BootImageException(imageName, "version", $"boot protocol {version >> 8}.{version & 0xFF:D2} (0x{version:X4} at offset 0x{BootParamsLayout.Version:X}) is too old; Virt needs 2.06 or later");
        }

        int headerEnd = BootParamsLayout.Header + image[BootParamsLayout.Jump + 1];
        if (headerEnd < BootParamsLayout.HardwareSubarch)
        {
            throw new BootImageException(imageName, "setup header length", $"the jump at 0x200 ends the header at 0x{headerEnd:X}, before cmdline_size (0x{BootParamsLayout.CmdlineSize:X}) which protocol 2.06 has");
        }

        int setupSectors = image[BootParamsLayout.SetupSects];
        if (setupSectors == 0)
        {
            setupSectors = 4; // boot.rst: "If this field is 0, the real value is 4."
        }

        int protectedModeOffset = (setupSectors + 1) * 512;
        if (image.Length < headerEnd)
        {
            throw new BootImageException(imageName, "setup header", $"the header runs to offset 0x{headerEnd:X} but the file is only 0x{image.Length:X} bytes: truncated");
        }

        if (protectedModeOffset < headerEnd)
        {
            throw new BootImageException(imageName, "setup_sects", $"{setupSectors} sectors end the setup code at 0x{protectedModeOffset:X}, before the end of the setup header at 0x{headerEnd:X}");
        }

        if (image.Length <= protectedModeOffset)
        {
            throw new BootImageException(imageName, "setup_sects", $"{setupSectors} setup sectors put the protected-mode kernel at offset 0x{protectedModeOffset:X}, at or past the end of the file (0x{image.Length:X} bytes): truncated");
        }

        CheckSysSize(image, imageName, protectedModeOffset);

        byte loadFlags = image[BootParamsLayout.LoadFlags];
        if ((loadFlags & BootParamsLayout.LoadedHigh) == 0)
        {
            throw new BootImageException(imageName, "loadflags", $"0x{loadFlags:X2} lacks LOADED_HIGH (bit 0): a zImage loaded at 0x10000 is not supported");
        }

        ReadOnlySpan<byte> header = image[..headerEnd];
        uint code32Start = U32(header, BootParamsLayout.Code32Start);
        uint protectedModeSize = (uint)(image.Length - protectedModeOffset);
        return new LinuxSetupHeader
        {
            SetupSectors = setupSectors,
            SysSize = U32(header, BootParamsLayout.SysSize),
            Version = version,
            KernelVersion = ReadKernelVersion(image, BinaryPrimitives.ReadUInt16LittleEndian(image[BootParamsLayout.KernelVersion..]), protectedModeOffset),
            LoadFlags = loadFlags,
            Code32Start = code32Start,
            InitrdAddressMax = U32(header, BootParamsLayout.InitrdAddrMax),
            KernelAlignment = U32(header, BootParamsLayout.KernelAlignment),
            RelocatableKernel = header[BootParamsLayout.RelocatableKernel] != 0,
            XLoadFlags = version >= 0x020C ? BinaryPrimitives.ReadUInt16LittleEndian(header[BootParamsLayout.XLoadFlags..]) : (ushort)0,
            CommandLineSize = U32(header, BootParamsLayout.CmdlineSize),
            PreferredAddress = version >= 0x020A && headerEnd >= BootParamsLayout.PrefAddress + 8 ? BinaryPrimitives.ReadUInt64LittleEndian(header[BootParamsLayout.PrefAddress..]) : code32Start,
            InitSize = version >= 0x020A && headerEnd >= BootParamsLayout.InitSize + 4 ? U32(header, BootParamsLayout.InitSize) : protectedModeSize,
            HeaderEndOffset = headerEnd,
        };
    }

    /// <summary>
    /// boot.rst, <c>syssize</c>: the size of the protected-mode code in 16-byte paragraphs (32 bits from protocol 2.04).
    /// The kernel's build pads the file to exactly that size; a count rounded up from the byte size is also accepted, so
    /// the last paragraph may be partial. A file that holds less after the setup code was cut short (a download or copy
    /// that stopped half-way), and the kernel would decompress garbage.
    /// </summary>
    private static void CheckSysSize(ReadOnlySpan<byte> image, string imageName, int protectedModeOffset)
    {
        const int paragraphSize = 16;
        uint sysSize = U32(image, BootParamsLayout.SysSize);
        ulong declared = (ulong)sysSize * paragraphSize;
        ulong present = (ulong)(image.Length - protectedModeOffset);
        if (declared > present + paragraphSize - 1)
        {
            throw new BootImageException(
                imageName,
                "syssize",
                $"{sysSize} paragraphs (0x{declared:X} bytes) of protected-mode kernel, but the file holds only 0x{present:X} bytes after the setup code at 0x{protectedModeOffset:X}: truncated");
        }
    }

    private static uint U32(ReadOnlySpan<byte> header, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(header[offset..]);

    private static string ReadKernelVersion(ReadOnlySpan<byte> image, ushort pointer, int protectedModeOffset)
    {
        // boot.rst: kernel_version is a pointer to a NUL-terminated string, less 0x200, within the setup code.
        if (pointer == 0)
        {
            return string.Empty;
        }

        int start = pointer + 0x200;
        if (start >= protectedModeOffset)
        {
            return string.Empty;
        }

        ReadOnlySpan<byte> text = image[start..Math.Min(protectedModeOffset, start + 256)];
        int end = text.IndexOf((byte)0);
        text = end < 0 ? text : text[..end];
        foreach (byte b in text)
        {
            if (b is < 0x20 or > 0x7E)
            {
                return string.Empty;
            }
        }

        return Encoding.ASCII.GetString(text);
    }
}
