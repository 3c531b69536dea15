using Virt.Cpu.Decoding;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// The public view of the registers: general registers, EIP, EFLAGS, control registers and segment registers with their
/// descriptor caches, and what changing them implies (mode bits, CPL, access bounds, TLB flushes).
/// </summary>
public sealed partial class Cpu
{
    /// <summary>The instruction pointer's low 32 bits (EIP; IP is its low 16 bits). Setting it clears the upper half of RIP.</summary>
    public uint Eip
    {
        get => (uint)_ctx.Rip;
        set => _ctx.Rip = value;
    }

    /// <summary>The instruction pointer, all 64 bits (RIP).</summary>
    public ulong Rip
    {
        get => _ctx.Rip;
        set => _ctx.Rip = value;
    }

    /// <summary>
    /// EFLAGS (reading derives the lazily computed status flags; bit 1 always reads as set). In protected mode, setting or
    /// clearing VM moves the CPU into or out of virtual-8086 mode: CPL becomes 3, or CS.RPL again.
    /// </summary>
    public uint Flags
    {
        get => GetFlags();
        set
        {
            SetFlagsRaw(value);
            if (IsProtectedMode)
            {
                _ctx.Cpl = (value & EflagsBits.Vm) != 0 ? 3 : _ctx.SegSelector[Cs] & 3;
            }
        }
    }

    /// <summary>CR0 (setting PG with EFER.LME activates IA-32e mode, clearing it deactivates it; no checks are made).</summary>
    public ulong Cr0
    {
        get => _ctx.Cr0;
        set
        {
            _ctx.Cr0 = value;
            UpdateLongModeActive();
            _mmu.ReloadPdptesForHost();
            RefreshAllAccessBounds();
            _mmu.Flush();
        }
    }

    /// <summary>CR2 (page-fault linear address).</summary>
    public ulong Cr2
    {
        get => _ctx.Cr2;
        set => _ctx.Cr2 = value;
    }

    /// <summary>CR3 (page-directory base).</summary>
    public ulong Cr3
    {
        get => _ctx.Cr3;
        set
        {
            _ctx.Cr3 = value;
            _mmu.ReloadPdptesForHost();
            _mmu.Flush();
        }
    }

    /// <summary>CR4.</summary>
    public ulong Cr4
    {
        get => _ctx.Cr4;
        set
        {
            _ctx.Cr4 = value;
            _mmu.ReloadPdptesForHost();
            RecomputeBreakpoints();
        }
    }

    /// <summary>The current privilege level (always 0 in real mode).</summary>
    public int Cpl => _ctx.Cpl;

    /// <summary>Whether CR0.PE is set (protected mode).</summary>
    public bool IsProtectedMode => (_ctx.Cr0 & Cr0Bits.Pe) != 0;

    /// <summary>Reads a general-purpose register, all 64 bits.</summary>
    /// <param name="register">The register.</param>
    /// <returns>Its value.</returns>
    public ulong GetRegister(GeneralRegister register) => _ctx.Gpr[(int)register];

    /// <summary>Writes a general-purpose register, all 64 bits.</summary>
    /// <param name="register">The register.</param>
    /// <param name="value">The value.</param>
    public void SetRegister(GeneralRegister register, ulong value) => _ctx.Gpr[(int)register] = value;

    /// <summary>Reads a segment register with its hidden descriptor cache.</summary>
    /// <param name="segment">The segment register.</param>
    /// <returns>Its state.</returns>
    public SegmentState GetSegment(SegmentRegister segment)
    {
        int s = (int)segment;
        return new SegmentState(_ctx.SegSelector[s], _ctx.SegBase[s], _ctx.SegLimit[s], _ctx.SegAttributes[s]);
    }

    /// <summary>Writes a segment register including its hidden descriptor cache.</summary>
    /// <param name="segment">The segment register.</param>
    /// <param name="state">The new state.</param>
    public void SetSegment(SegmentRegister segment, SegmentState state)
    {
        int s = (int)segment;
        _ctx.SegSelector[s] = state.Selector;
        _ctx.SegBase[s] = state.Base;
        _ctx.SegLimit[s] = state.Limit;
        _ctx.SegAttributes[s] = state.Attributes;
        RefreshAccessBounds(s);
        if (segment == SegmentRegister.Cs)
        {
            _ctx.Cpl = IsProtectedMode ? ((_ctx.Eflags & EflagsBits.Vm) != 0 ? 3 : state.Selector & 3) : 0;
        }

        UpdateModeBits();
    }

    /// <summary>Loads a segment register as a real-mode MOV would: selector and base = selector * 16; limit and attributes kept.</summary>
    /// <param name="segment">The segment register.</param>
    /// <param name="selector">The selector.</param>
    public void LoadSegmentRealMode(SegmentRegister segment, ushort selector) => LoadSegmentReal((int)segment, selector);

    private void UpdateModeBits()
    {
        // Intel SDM Vol. 3A, 5.2.1: under IA-32e mode, CS.L selects 64-bit mode (CS.D must then be 0, and is ignored);
        // with CS.L clear the code runs in compatibility mode with the legacy D-bit sizes.
        _ctx.Code64 = (_ctx.Efer & EferBits.Lma) != 0 && (_ctx.SegAttributes[Cs] & SegmentState.LongModeBit) != 0;
        _ctx.Code32 = !_ctx.Code64 && (_ctx.SegAttributes[Cs] & SegmentState.DefaultBigBit) != 0;
        _ctx.Stack32 = (_ctx.SegAttributes[Ss] & SegmentState.DefaultBigBit) != 0;
        _ctx.CodeSizeKey = _ctx.Code64 ? DecodeCache.CodeSize64Key : _ctx.Code32 ? DecodeCache.CodeSize32Key : 0;
        _ctx.IpMask = _ctx.Code64 ? ulong.MaxValue : _ctx.Code32 ? uint.MaxValue : 0xFFFF;
    }

    /// <summary>The linear address of CS:RIP (RIP itself in 64-bit mode, where CS has base 0; 32 bits wide otherwise).</summary>
    private ulong CodeLinear => _ctx.Code64 ? _ctx.Rip : (uint)(_ctx.SegBase[Cs] + _ctx.Rip);

    private void LoadSegmentReal(int segment, ushort selector)
    {
        _ctx.SegSelector[segment] = selector;
        _ctx.SegBase[segment] = (ulong)selector << 4;
    }
}
