namespace Virt.Devices;

/// <summary>
/// The Bochs VBE display interface (DISPI; Bochs <c>vbe_display_api.txt</c> and QEMU's <c>docs/specs/standard-vga</c>):
/// an index port at 1CEh and a data port at 1CFh (1D0h too, as in QEMU), eleven 16-bit registers that set a linear
/// graphics mode of 8, 15, 16, 24 or 32 bits per pixel in the VBE video memory, seen through the linear framebuffer
/// and, while the mode is on, through a 64 KiB bank window at A0000h; or a 4-bit planar mode drawn through the VGA
/// planes. As in QEMU's std VGA, the planes are the first 256 KiB of the video memory, interleaved: byte 4n + p of the
/// linear framebuffer is byte n of plane p.
/// </summary>
public sealed partial class VgaAdapter
{
    /// <summary>The DISPI index port.</summary>
    public const ushort VbeIndexPort = 0x1CE;

    /// <summary>The DISPI data port.</summary>
    public const ushort VbeDataPort = 0x1CF;

    /// <summary>The DISPI register that identifies the interface (reads the highest ID the guest asked for, <see cref="VbeIdLatest"/> at reset).</summary>
    public const int VbeIndexId = 0x0;

    /// <summary>The DISPI horizontal resolution register.</summary>
    public const int VbeIndexXResolution = 0x1;

    /// <summary>The DISPI vertical resolution register.</summary>
    public const int VbeIndexYResolution = 0x2;

    /// <summary>The DISPI bits-per-pixel register (4, 8, 15, 16, 24 or 32).</summary>
    public const int VbeIndexBpp = 0x3;

    /// <summary>The DISPI enable register (<see cref="VbeEnabled"/>, <see cref="VbeGetCapabilities"/>, <see cref="VbeEightBitDac"/>, <see cref="VbeLinearFramebuffer"/>, <see cref="VbeNoClearMemory"/>).</summary>
    public const int VbeIndexEnable = 0x4;

    /// <summary>The DISPI bank register: which 64 KiB of video memory the A0000h window shows.</summary>
    public const int VbeIndexBank = 0x5;

    /// <summary>The DISPI virtual width register (pixels per scan line of the video memory).</summary>
    public const int VbeIndexVirtualWidth = 0x6;

    /// <summary>The DISPI virtual height register (read-only in effect: what fits in video memory).</summary>
    public const int VbeIndexVirtualHeight = 0x7;

    /// <summary>The DISPI horizontal display offset register.</summary>
    public const int VbeIndexXOffset = 0x8;

    /// <summary>The DISPI vertical display offset register.</summary>
    public const int VbeIndexYOffset = 0x9;

    /// <summary>The DISPI video memory size register, in 64 KiB units (read-only).</summary>
    public const int VbeIndexVideoMemory64K = 0xA;

    /// <summary>ENABLE bit 0: the VBE mode is on.</summary>
    public const ushort VbeEnabled = 0x01;

    /// <summary>ENABLE bit 1: XRES, YRES and BPP read their maxima.</summary>
    public const ushort VbeGetCapabilities = 0x02;

    /// <summary>ENABLE bit 5: the DAC takes 8-bit components.</summary>
    public const ushort VbeEightBitDac = 0x20;

    /// <summary>ENABLE bit 6: the guest uses the linear framebuffer (stored; the LFB and the bank window both work).</summary>
    public const ushort VbeLinearFramebuffer = 0x40;

    /// <summary>ENABLE bit 7: enabling keeps video memory instead of clearing it.</summary>
    public const ushort VbeNoClearMemory = 0x80;

    /// <summary>The first DISPI interface ID.</summary>
    public const ushort VbeIdFirst = 0xB0C0;

    /// <summary>The latest DISPI interface ID (B0C5h: VIDEO_MEMORY_64K and the 8-bit DAC).</summary>
    public const ushort VbeIdLatest = 0xB0C5;

    /// <summary>The largest horizontal resolution accepted (QEMU's VBE_DISPI_MAX_XRES).</summary>
    public const int VbeMaxXResolution = 16000;

    /// <summary>The largest vertical resolution accepted (QEMU's VBE_DISPI_MAX_YRES).</summary>
    public const int VbeMaxYResolution = 12000;

    /// <summary>The largest bits per pixel.</summary>
    public const int VbeMaxBpp = 32;

    /// <summary>The smallest VBE video memory.</summary>
    public const ulong MinimumVideoMemorySizeInBytes = 1UL << 20;

    /// <summary>The largest VBE video memory.</summary>
    public const ulong MaximumVideoMemorySizeInBytes = 256UL << 20;

    /// <summary>BPP 4 (Bochs VBE_DISPI_BPP_4): a 16-colour planar mode drawn from the VGA planes through the attribute palette.</summary>
    public const int VbePlanarBpp = 4;

    /// <summary>The part of the video memory the four VGA planes occupy (interleaved, from offset 0).</summary>
    public const int PlanarAliasSizeInBytes = 4 * PlaneSizeInBytes;

    private const int VbePortCount = 3;

    // Graphics controller mode (05h) bit 6: 256-colour shift mode.
    private const byte GraphicsModeShift256 = 0x40;
    private const int VbeRegisterCount = 11;

    private readonly ushort[] _vbe = new ushort[VbeRegisterCount];
    private readonly VgaLinearMemory _vram;
    private ushort _vbeIndex;

    /// <summary>Whether a VBE mode is on (DISPI ENABLE bit 0): <see cref="Render"/> shows the linear framebuffer then.</summary>
    public bool VbeModeEnabled => (_vbe[VbeIndexEnable] & VbeEnabled) != 0;

    /// <summary>A DISPI register as the guest last set it (<see cref="VbeIndexId"/> … <see cref="VbeIndexVideoMemory64K"/>).</summary>
    /// <param name="index">The register index.</param>
    /// <returns>The value.</returns>
    public ushort GetVbeRegister(int index) => (uint)index < VbeRegisterCount ? _vbe[index] : (ushort)0;

    /// <summary>The bank window bypasses the VGA pipeline in the packed-pixel modes; in the 4-bpp mode A0000h reaches the planes as the graphics controller says.</summary>
    private bool VbeBankWindowActive => VbeModeEnabled && !VbePlanar;

    private bool VbePlanar => _vbe[VbeIndexBpp] == VbePlanarBpp;

    private bool DacIsEightBit => (_vbe[VbeIndexEnable] & VbeEightBitDac) != 0;

    private int VbeBytesPerPixel => (_vbe[VbeIndexBpp] + 7) / 8;

    private int VbeLineBytes => LineBytes(_vbe[VbeIndexVirtualWidth], _vbe[VbeIndexBpp]);

    /// <summary>Bytes of video memory per line: 4 bpp uses width / 8 bytes in each of four interleaved planes, width / 2 in all.</summary>
    private static int LineBytes(int width, int bpp) => bpp == VbePlanarBpp ? width / 2 : width * ((bpp + 7) / 8);

    /// <summary>A byte of video memory: the first 256 KiB are the VGA planes, interleaved (QEMU's std VGA layout).</summary>
    private byte ReadVram(int offset) =>
        offset < PlanarAliasSizeInBytes ? _planes[((offset & 3) * PlaneSizeInBytes) + (offset >> 2)] : _vram.Read(offset);

    private void WriteVram(int offset, byte value)
    {
        if (offset < PlanarAliasSizeInBytes)
        {
            _planes[((offset & 3) * PlaneSizeInBytes) + (offset >> 2)] = value;
        }
        else
        {
            _vram.Write(offset, value);
        }
    }

    /// <summary>Reads the linear framebuffer (offset from its base); bytes past the memory read as all ones.</summary>
    internal ulong ReadFramebuffer(ulong offset, int sizeInBytes)
    {
        ulong value = 0;
        for (int i = 0; i < sizeInBytes; i++)
        {
            ulong at = offset + (ulong)i;
            ulong b = at < (ulong)_vram.SizeInBytes ? ReadVram((int)at) : 0xFFUL;
            value |= b << (8 * i);
        }

        return value;
    }

    /// <summary>Writes the linear framebuffer; bytes past the memory are dropped.</summary>
    internal void WriteFramebuffer(ulong offset, int sizeInBytes, ulong value)
    {
        for (int i = 0; i < sizeInBytes; i++)
        {
            ulong at = offset + (ulong)i;
            if (at < (ulong)_vram.SizeInBytes)
            {
                WriteVram((int)at, (byte)(value >> (8 * i)));
            }
        }
    }

    internal uint ReadVbePort(ushort offset, int sizeInBytes)
    {
        if (offset == 0)
        {
            return _vbeIndex;
        }

        return ReadVbeRegister(_vbeIndex);
    }

    internal void WriteVbePort(ushort offset, int sizeInBytes, ushort value)
    {
        if (offset == 0)
        {
            _vbeIndex = value;
            return;
        }

        WriteVbeRegister(_vbeIndex, value);
    }

    /// <summary>A DISPI register read through the std VGA's MMIO window.</summary>
    internal ushort ReadVbeRegisterForMmio(int index) => ReadVbeRegister(index);

    /// <summary>A DISPI register write through the std VGA's MMIO window.</summary>
    internal void WriteVbeRegisterForMmio(int index, ushort value) => WriteVbeRegister(index, value);

    /// <summary>A DISPI register as the guest reads it (with GETCAPS, the maxima).</summary>
    private ushort ReadVbeRegister(int index)
    {
        if (index >= VbeRegisterCount)
        {
            CountMisuse("VBE index out of range", index);
            return 0;
        }

        if ((_vbe[VbeIndexEnable] & VbeGetCapabilities) != 0)
        {
            switch (index)
            {
                case VbeIndexXResolution:
                    return VbeMaxXResolution;
                case VbeIndexYResolution:
                    return VbeMaxYResolution;
                case VbeIndexBpp:
                    return VbeMaxBpp;
            }
        }

        return index == VbeIndexVideoMemory64K ? (ushort)(_vram.SizeInBytes / VgaLinearMemory.ChunkSizeInBytes) : _vbe[index];
    }

    private void WriteVbeRegister(int index, ushort value)
    {
        switch (index)
        {
            case VbeIndexId:
                if (value is >= VbeIdFirst and <= VbeIdLatest)
                {
                    _vbe[VbeIndexId] = value;
                }
                else
                {
                    CountMisuse("VBE ID not supported", value);
                }

                break;
            case VbeIndexXResolution or VbeIndexYResolution or VbeIndexBpp:
                // Bochs and QEMU ignore mode changes while the mode is on; values are checked when it is enabled.
                if (!VbeModeEnabled)
                {
                    _vbe[index] = value;
                }

                break;
            case VbeIndexEnable:
                WriteVbeEnable(value);
                break;
            case VbeIndexBank:
                if ((uint)value * VgaLinearMemory.ChunkSizeInBytes < (uint)_vram.SizeInBytes)
                {
                    _vbe[VbeIndexBank] = value;
                }
                else
                {
                    CountMisuse("VBE bank beyond video memory", value);
                }

                break;
            case VbeIndexVirtualWidth:
                if (VbeModeEnabled && value >= _vbe[VbeIndexXResolution] && VirtualWidthFits(value))
                {
                    _vbe[VbeIndexVirtualWidth] = value;
                    _vbe[VbeIndexVirtualHeight] = VirtualHeight(value, _vbe[VbeIndexBpp]);
                }
                else if (!VbeModeEnabled)
                {
                    _vbe[VbeIndexVirtualWidth] = value;
                }
                else
                {
                    CountMisuse("VBE virtual width does not fit", value);
                }

                break;
            case VbeIndexXOffset or VbeIndexYOffset:
                _vbe[index] = value;
                break;
            case VbeIndexVirtualHeight or VbeIndexVideoMemory64K:
                break; // follow from the others (QEMU ignores writes too)
            default:
                CountMisuse("VBE index out of range", index);
                break;
        }
    }

    private void WriteVbeEnable(ushort value)
    {
        bool wasOn = VbeModeEnabled;
        if ((value & VbeEnabled) != 0 && !wasOn)
        {
            int xres = _vbe[VbeIndexXResolution];
            int yres = _vbe[VbeIndexYResolution];
            int bpp = _vbe[VbeIndexBpp];
            bool planar = bpp == VbePlanarBpp;
            if (bpp is not (VbePlanarBpp or 8 or 15 or 16 or 24 or 32) || xres == 0 || yres == 0 || xres > VbeMaxXResolution || yres > VbeMaxYResolution ||
                (long)LineBytes(xres, bpp) * yres > _vram.SizeInBytes ||
                (planar && ((xres & 7) != 0 || (long)(xres / 8) * yres > PlaneSizeInBytes)))
            {
                // The 4-bpp mode is drawn through the VGA planes, which the CRTC and the A0000h window address in 64 KiB.
                // A mode that cannot be shown: refuse to enable, as Bochs does.
                CountMisuse("VBE mode not supported", bpp);
                _vbe[VbeIndexEnable] = (ushort)(value & ~VbeEnabled & ~VbeGetCapabilities);
                return;
            }

            _vbe[VbeIndexVirtualWidth] = (ushort)xres;
            _vbe[VbeIndexVirtualHeight] = VirtualHeight(xres, bpp);
            _vbe[VbeIndexXOffset] = 0;
            _vbe[VbeIndexYOffset] = 0;
            _vbe[VbeIndexBank] = 0;
            if ((value & VbeNoClearMemory) == 0)
            {
                // All of the video memory, the planes included (they are its first 256 KiB): QEMU clears it all too.
                _vram.Clear();
                Array.Clear(_planes);
            }

            // As QEMU does, put the VGA core in a graphics mode with the A0000h-AFFFFh map, so VGA-aware code that looks
            // at the registers sees a graphics mode. In the 4-bpp mode the shift register goes to planar (GC mode bits
            // 5-6 clear) and the A0000h window reaches the planes through the graphics controller.
            _graphics[GcMiscellaneous] = (byte)((_graphics[GcMiscellaneous] & 0xF0) | GraphicsMiscGraphicsMode | (1 << GraphicsMiscMemoryMapShift));
            if (planar)
            {
                _graphics[GcMode] = (byte)(_graphics[GcMode] & ~(GraphicsModeShiftInterleave | GraphicsModeShift256));
            }
        }
        else if ((value & VbeEnabled) == 0 && wasOn)
        {
            _vbe[VbeIndexBank] = 0;
        }

        _vbe[VbeIndexEnable] = value;
    }

    private bool VirtualWidthFits(int width)
    {
        int bpp = _vbe[VbeIndexBpp];
        long lines = _vbe[VbeIndexYResolution];
        return LineBytes(width, bpp) * lines <= _vram.SizeInBytes &&
            (bpp != VbePlanarBpp || ((width & 7) == 0 && (width / 8) * lines <= PlaneSizeInBytes));
    }

    /// <summary>Lines of the given width that fit: in the whole memory, or in a 64 KiB plane for the 4-bpp mode.</summary>
    private ushort VirtualHeight(int width, int bpp)
    {
        int lineBytes = bpp == VbePlanarBpp ? width / 8 : LineBytes(width, bpp);
        int memory = bpp == VbePlanarBpp ? PlaneSizeInBytes : _vram.SizeInBytes;
        return (ushort)Math.Min(memory / Math.Max(lineBytes, 1), ushort.MaxValue);
    }

    private void ResetVbe()
    {
        Array.Clear(_vbe);
        _vbe[VbeIndexId] = VbeIdLatest;
        _vbeIndex = 0;
    }
}
