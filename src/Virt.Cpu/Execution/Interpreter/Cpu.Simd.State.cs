using System.Buffers.Binary;
using Iced.Intel;
using Virt.Cpu.Decoding;
using Virt.Cpu.X87;

namespace Virt.Cpu;

/// <summary>
/// The SSE state instructions: LDMXCSR and STMXCSR, FXSAVE and FXRSTOR with the XMM registers and MXCSR (and their REX.W
/// forms), XSAVE and XRSTOR for the x87 and SSE components, XGETBV and XSETBV (Intel SDM Vol. 1, 10.5 and ch. 13;
/// Vol. 2, the instruction pages).
/// </summary>
public sealed partial class Cpu
{
    /// <summary>XCR0 bit 0: x87 state (always set).</summary>
    internal const ulong Xcr0X87 = 1UL << 0;

    /// <summary>XCR0 bit 1: SSE state (XMM registers and MXCSR).</summary>
    internal const ulong Xcr0Sse = 1UL << 1;

    /// <summary>The XCR0 bits this CPU supports (CPUID.(EAX=0Dh,ECX=0):EAX).</summary>
    internal const ulong Xcr0Supported = Xcr0X87 | Xcr0Sse;

    /// <summary>The size of the XSAVE area for x87 and SSE: the 512-byte legacy region and the 64-byte header (Vol. 1, 13.4).</summary>
    internal const int XsaveAreaSizeInBytes = 576;

    private const int FxsaveMxcsrOffset = 24;
    private const int FxsaveMxcsrMaskOffset = 28;
    private const int FxsaveXmmOffset = 160;
    private const int FxsaveX87DataOffset = 32;
    private const int FxsaveX87HeaderBytes = 24;
    private const int XsaveHeaderOffset = 512;
    private const int XsaveHeaderSizeInBytes = 64;
    private const int XsaveAlignment = 64;

    /// <summary>The L bit (64-bit code segment) in <see cref="SegmentState.Attributes"/> (descriptor bit 53).</summary>
    private const ushort SegmentLongModeAttribute = 1 << 13;

    /// <summary>Whether the CPU is in 64-bit mode (IA-32e mode with a 64-bit code segment): XMM8-XMM15 exist.</summary>
    private bool SimdIn64BitMode => (_ctx.Efer & EferBits.Lma) != 0 && (_ctx.SegAttributes[Cs] & SegmentLongModeAttribute) != 0;

    private bool TryExecuteSimdState(ref DecodedInstruction d)
    {
        switch (d.Code)
        {
            case Code.Ldmxcsr_m32:
                if (SimdReadMemory(ref d, 4, out ulong value))
                {
                    // Intel SDM Vol. 2A, LDMXCSR: #GP(0) for a 1 in a reserved bit.
                    if ((value & ~(ulong)MxcsrBits.WritableMask) != 0)
                    {
                        RaiseFault(VectorGeneralProtection, 0);
                        return true;
                    }

                    _ctx.Mxcsr = (uint)value;
                }

                return true;
            case Code.Stmxcsr_m32:
                SimdWriteMemory(ref d, 4, _ctx.Mxcsr);
                return true;
            case Code.Fxsave_m512byte:
            case Code.Fxsave64_m512byte:
                ExecuteFxsave(ref d, wide: d.Code == Code.Fxsave64_m512byte);
                return true;
            case Code.Fxrstor_m512byte:
            case Code.Fxrstor64_m512byte:
                ExecuteFxrstor(ref d, wide: d.Code == Code.Fxrstor64_m512byte);
                return true;
            case Code.Xsave_mem:
            case Code.Xsave64_mem:
                ExecuteXsave(ref d, wide: d.Code == Code.Xsave64_mem);
                return true;
            case Code.Xrstor_mem:
            case Code.Xrstor64_mem:
                ExecuteXrstor(ref d, wide: d.Code == Code.Xrstor64_mem);
                return true;
            case Code.Xgetbv:
                ExecuteXgetbv();
                return true;
            case Code.Xsetbv:
                ExecuteXsetbv();
                return true;
            default:
                return false;
        }
    }

    /// <summary>The XMM registers FXSAVE and XSAVE store: 16 in 64-bit mode, else 8 (Vol. 2A, FXSAVE, Table 3-55).</summary>
    private int SimdSavedXmmCount => SimdIn64BitMode ? 16 : 8;

    /// <summary>FXSAVE and FXRSTOR: #NM for CR0.EM or CR0.TS (not #UD: Vol. 2A, FXSAVE, "Protected Mode Exceptions").</summary>
    private bool FxsrCheckAvailable()
    {
        if ((_ctx.Cr0 & (Cr0Bits.Em | Cr0Bits.Ts)) != 0)
        {
            RaiseFault(VectorDeviceNotAvailable);
            return false;
        }

        return true;
    }

    /// <summary>The x87 part of the legacy region, in the 32-bit layout or (REX.W) with 64-bit FIP and FDP.</summary>
    private void WriteX87Legacy(Span<byte> image, bool wide)
    {
        _fpu.WriteFxsave(image);
        if (wide)
        {
            // The REX.W layout: FIP in bytes 8-15 and FDP in bytes 16-23, without selectors (Vol. 2A, FXSAVE, Table 3-56).
            BinaryPrimitives.WriteUInt64LittleEndian(image[8..], BinaryPrimitives.ReadUInt32LittleEndian(image[8..]));
            BinaryPrimitives.WriteUInt64LittleEndian(image[16..], BinaryPrimitives.ReadUInt32LittleEndian(image[16..]));
        }
    }

    private void ReadX87Legacy(Span<byte> image, bool wide)
    {
        if (wide)
        {
            // Selectors are not part of the 64-bit layout; the offsets keep their low 32 bits.
            image.Slice(12, 4).Clear();
            image.Slice(20, 4).Clear();
        }

        _fpu.ReadFxsave(image);
        X87UpdateFerr();
    }

    private void WriteXmmImage(Span<byte> image)
    {
        for (int i = 0; i < SimdSavedXmmCount; i++)
        {
            BinaryPrimitives.WriteUInt128LittleEndian(image[(FxsaveXmmOffset + (16 * i))..], _ctx.Xmm[i]);
        }
    }

    private void ReadXmmImage(ReadOnlySpan<byte> image)
    {
        for (int i = 0; i < SimdSavedXmmCount; i++)
        {
            _ctx.Xmm[i] = BinaryPrimitives.ReadUInt128LittleEndian(image[(FxsaveXmmOffset + (16 * i))..]);
        }
    }

    /// <summary>The bytes FXSAVE writes: the x87 and MXCSR header, ST0-ST7, and the XMM registers in use in this mode.</summary>
    private int FxsaveWrittenBytes => FxsaveXmmOffset + (16 * SimdSavedXmmCount);

    /// <summary>Reads the memory operand of FXRSTOR/XRSTOR after the alignment check.</summary>
    private bool SimdReadBlock(ref DecodedInstruction d, int alignment, Span<byte> buffer, out uint ea)
    {
        ea = EffectiveAddress(ref d);
        if (((_ctx.SegBase[d.Seg] + ea) & (uint)(alignment - 1)) != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        return X87ReadBytes(d.Seg, ea, buffer);
    }

    /// <summary>Writes <paramref name="buffer"/> at the memory operand, all or nothing (every page is checked first).</summary>
    private bool SimdWriteBlock(int segment, uint ea, ReadOnlySpan<byte> buffer)
    {
        for (int offset = 0; offset < buffer.Length; offset += PageSizeInBytesForProbe)
        {
            int chunk = Math.Min(PageSizeInBytesForProbe, buffer.Length - offset);
            if (!SimdProbeWrite(segment, ea + (uint)offset, chunk))
            {
                return false;
            }
        }

        return X87WriteBytes(segment, ea, buffer);
    }

    /// <summary>The step of the page probe before a block write (one probe per 4 KiB touches every page of a 576-byte block).</summary>
    private const int PageSizeInBytesForProbe = 4096;

    /// <summary>FXSAVE m512byte (Intel SDM Vol. 2A, FXSAVE): #GP(0) unless 16-byte aligned.</summary>
    private void ExecuteFxsave(ref DecodedInstruction d, bool wide)
    {
        if (!FxsrCheckAvailable())
        {
            return;
        }

        uint ea = EffectiveAddress(ref d);
        if (!SimdCheckAlignment(d.Seg, ea))
        {
            return;
        }

        Span<byte> image = stackalloc byte[X87State.FxsaveSizeInBytes];
        image.Clear();
        WriteX87Legacy(image, wide);
        BinaryPrimitives.WriteUInt32LittleEndian(image[FxsaveMxcsrOffset..], _ctx.Mxcsr);
        BinaryPrimitives.WriteUInt32LittleEndian(image[FxsaveMxcsrMaskOffset..], MxcsrBits.WritableMask);
        WriteXmmImage(image);
        SimdWriteBlock(d.Seg, ea, image[..FxsaveWrittenBytes]);
    }

    /// <summary>FXRSTOR m512byte: #GP(0) unless 16-byte aligned or for a reserved MXCSR bit, before anything loads.</summary>
    private void ExecuteFxrstor(ref DecodedInstruction d, bool wide)
    {
        if (!FxsrCheckAvailable())
        {
            return;
        }

        Span<byte> image = stackalloc byte[X87State.FxsaveSizeInBytes];
        if (!SimdCheckAlignment(d.Seg, EffectiveAddress(ref d)) || !SimdReadBlock(ref d, SimdAlignment, image, out _))
        {
            return;
        }

        uint mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(image[FxsaveMxcsrOffset..]);
        if ((mxcsr & ~MxcsrBits.WritableMask) != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        ReadX87Legacy(image, wide);
        _ctx.Mxcsr = mxcsr;
        ReadXmmImage(image);
    }

    /// <summary>XSAVE, XRSTOR: #UD without CR4.OSXSAVE, then #NM for CR0.TS (Vol. 2C, XSAVE, "Protected Mode Exceptions").</summary>
    private bool XsaveCheckAvailable()
    {
        if ((_ctx.Cr4 & Cr4Bits.Osxsave) == 0)
        {
            RaiseFault(VectorInvalidOpcode);
            return false;
        }

        if ((_ctx.Cr0 & Cr0Bits.Ts) != 0)
        {
            RaiseFault(VectorDeviceNotAvailable);
            return false;
        }

        return true;
    }

    /// <summary>The requested-feature bitmap: XCR0 AND EDX:EAX (Vol. 1, 13.6).</summary>
    private ulong XsaveRequestedFeatures => _ctx.Xcr0 & ((_ctx.Gpr[RegDx] << 32) | (uint)_ctx.Gpr[RegAx]);

    /// <summary>
    /// XSAVE (standard form, Vol. 1, 13.7): the requested components of the legacy region, MXCSR with the SSE component, and
    /// XSTATE_BV's requested bits set (this CPU treats both components as always in use, which the SDM allows); the other
    /// bytes of the area are not written.
    /// </summary>
    private void ExecuteXsave(ref DecodedInstruction d, bool wide)
    {
        if (!XsaveCheckAvailable())
        {
            return;
        }

        Span<byte> area = stackalloc byte[XsaveAreaSizeInBytes];
        if (!SimdReadBlock(ref d, XsaveAlignment, area, out uint ea))
        {
            return;
        }

        ulong requested = XsaveRequestedFeatures;
        if ((requested & Xcr0X87) != 0)
        {
            Span<byte> legacy = stackalloc byte[X87State.FxsaveSizeInBytes];
            WriteX87Legacy(legacy, wide);
            legacy[..FxsaveX87HeaderBytes].CopyTo(area);
            legacy[FxsaveX87DataOffset..FxsaveXmmOffset].CopyTo(area[FxsaveX87DataOffset..]);
        }

        if ((requested & Xcr0Sse) != 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(area[FxsaveMxcsrOffset..], _ctx.Mxcsr);
            BinaryPrimitives.WriteUInt32LittleEndian(area[FxsaveMxcsrMaskOffset..], MxcsrBits.WritableMask);
            WriteXmmImage(area);
        }

        ulong stateBv = BinaryPrimitives.ReadUInt64LittleEndian(area[XsaveHeaderOffset..]);
        BinaryPrimitives.WriteUInt64LittleEndian(area[XsaveHeaderOffset..], stateBv | (requested & Xcr0Supported));
        SimdWriteBlock(d.Seg, ea, area);
    }

    /// <summary>
    /// XRSTOR (standard form, Vol. 1, 13.8): #GP(0) for a header with a bit outside XCR0 in XSTATE_BV, with bytes 8-63 not
    /// zero (compaction is not supported), or for a reserved MXCSR bit; then each requested component loads from memory when
    /// its XSTATE_BV bit is set and takes its initial state otherwise. MXCSR loads with the SSE component.
    /// </summary>
    private void ExecuteXrstor(ref DecodedInstruction d, bool wide)
    {
        if (!XsaveCheckAvailable())
        {
            return;
        }

        Span<byte> area = stackalloc byte[XsaveAreaSizeInBytes];
        if (!SimdReadBlock(ref d, XsaveAlignment, area, out _))
        {
            return;
        }

        ulong stateBv = BinaryPrimitives.ReadUInt64LittleEndian(area[XsaveHeaderOffset..]);
        bool headerReserved = area.Slice(XsaveHeaderOffset + 8, XsaveHeaderSizeInBytes - 8).ContainsAnyExcept((byte)0);
        ulong requested = XsaveRequestedFeatures;
        uint mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(area[FxsaveMxcsrOffset..]);
        if ((stateBv & ~_ctx.Xcr0) != 0 || headerReserved || ((requested & Xcr0Sse) != 0 && (mxcsr & ~MxcsrBits.WritableMask) != 0))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        if ((requested & Xcr0X87) != 0)
        {
            Span<byte> legacy = stackalloc byte[X87State.FxsaveSizeInBytes];
            legacy.Clear();
            if ((stateBv & Xcr0X87) != 0)
            {
                area[..FxsaveX87HeaderBytes].CopyTo(legacy);
                area[FxsaveX87DataOffset..FxsaveXmmOffset].CopyTo(legacy[FxsaveX87DataOffset..]);
            }
            else
            {
                // The x87 initial state (Vol. 1, 13.6): FCW 037Fh, everything else zero, all registers empty.
                BinaryPrimitives.WriteUInt16LittleEndian(legacy, X87Context.DefaultControlWord);
            }

            ReadX87Legacy(legacy, wide);
        }

        if ((requested & Xcr0Sse) != 0)
        {
            _ctx.Mxcsr = mxcsr;
            if ((stateBv & Xcr0Sse) != 0)
            {
                ReadXmmImage(area);
            }
            else
            {
                for (int i = 0; i < SimdSavedXmmCount; i++)
                {
                    _ctx.Xmm[i] = UInt128.Zero;
                }
            }
        }
    }

    /// <summary>XGETBV: EDX:EAX = XCR[ECX]; only XCR0 exists (#GP(0) otherwise); #UD without CR4.OSXSAVE.</summary>
    private void ExecuteXgetbv()
    {
        if ((_ctx.Cr4 & Cr4Bits.Osxsave) == 0)
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        if ((uint)_ctx.Gpr[RegCx] != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        WriteRegister(RegAx, 4, (uint)_ctx.Xcr0);
        WriteRegister(RegDx, 4, (uint)(_ctx.Xcr0 >> 32));
    }

    /// <summary>
    /// XSETBV: XCR[ECX] = EDX:EAX at CPL 0 only; #GP(0) for another XCR, a value without the x87 bit, or an unsupported bit
    /// (Vol. 2C, XSETBV); #UD without CR4.OSXSAVE.
    /// </summary>
    private void ExecuteXsetbv()
    {
        if ((_ctx.Cr4 & Cr4Bits.Osxsave) == 0)
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        ulong value = (_ctx.Gpr[RegDx] << 32) | (uint)_ctx.Gpr[RegAx];
        if (_ctx.Cpl != 0 || (uint)_ctx.Gpr[RegCx] != 0 || (value & Xcr0X87) == 0 || (value & ~Xcr0Supported) != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        _ctx.Xcr0 = value;
    }
}
