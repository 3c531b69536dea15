using System.Runtime.CompilerServices;

namespace Virt.Cpu;

/// <summary>
/// Debug registers DR0-DR7 and the debug exceptions they describe (Intel SDM Vol. 3B, 17.2-17.3): instruction breakpoints
/// (fault-class, suppressed by EFLAGS.RF), data breakpoints on writes or reads/writes (trap-class, after the instruction),
/// I/O breakpoints with CR4.DE (trap-class), general detect (DR7.GD, fault-class on MOV DR) and the single-step status bit.
/// DR4/DR5 alias DR6/DR7 while CR4.DE is clear and raise #UD while it is set.
/// </summary>
/// <remarks>
/// Cost when nothing is armed: the run loop already tests EFLAGS for TF; it tests TF|RF and one bool instead. Instruction
/// breakpoints make the run loop execute one instruction per iteration and compare CS.base + EIP before each. Data
/// breakpoints keep the software TLB from caching the pages they watch, so every access there takes the slow path, which
/// checks the ranges; other pages stay on the fast path.
/// </remarks>
public sealed partial class Cpu
{
    internal const int DebugRegisterBase = 8;
    private const uint Dr6Fixed = 0xFFFF_0FF0;
    private const uint Dr7Fixed = 0x0000_0400;
    private const uint Dr6Bd = 1u << 13;
    private const uint Dr6Bs = 1u << 14;
    private const uint Dr7Gd = 1u << 13;

    private readonly uint[] _debugAddress = new uint[4];
    private uint _dr6 = Dr6Fixed;
    private uint _dr7 = Dr7Fixed;

    // Which kinds of breakpoint DR7 (with CR4.DE for I/O) currently enables; recomputed on DR7, DR0-3 and CR4 writes.
    private bool _codeBreakpointsArmed;
    private bool _dataBreakpointsArmed;
    private bool _ioBreakpointsArmed;

    // B0-B3 of data and I/O breakpoints hit by the current instruction, reported by a trap after it completes.
    private uint _debugTrapBits;

    // Whether the run loop must call BeginDebugInstruction before the next instruction: instruction breakpoints are armed, or
    // breakpoint hits are pending from an event delivery (whose trap is taken before the handler's first instruction).
    private bool _debugSlowPath;

    // Hits held back by MOV SS / POP SS until after the next instruction (Intel SDM Vol. 3A, 6.8.3).
    private bool _debugTrapHeld;

    /// <summary>Reads a debug register (0-7) as MOV from DRn would.</summary>
    /// <param name="index">The register number.</param>
    /// <returns>Its value.</returns>
    public uint GetDebugRegister(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 7);
        return ReadDebugRegister(index);
    }

    private uint ReadDebugRegister(int index) => index switch
    {
        < 4 => _debugAddress[index],
        4 or 6 => _dr6,
        _ => _dr7,
    };

    private void WriteDebugRegister(int index, uint value)
    {
        switch (index)
        {
            case < 4:
                _debugAddress[index] = value;
                break;
            case 4:
            case 6:
                // DR6: bits 4-11 and 16-31 read as 1, bit 12 as 0 (Intel SDM Vol. 3B, 17.2.3).
                _dr6 = (value & 0x0000_E00F) | Dr6Fixed;
                return;
            default:
                // DR7: bit 10 reads as 1; bits 11, 12, 14 and 15 as 0 (Intel SDM Vol. 3B, 17.2.4).
                _dr7 = (value & 0xFFFF_23FF) | Dr7Fixed;
                break;
        }

        RecomputeBreakpoints();
    }

    private void ResetDebugRegisters()
    {
        Array.Clear(_debugAddress);
        _dr6 = Dr6Fixed;
        _dr7 = Dr7Fixed;
        _debugTrapBits = 0;
        _debugTrapHeld = false;
        RecomputeBreakpoints();
    }

    /// <summary>
    /// MOV to or from DRn: #UD for DR4/DR5 while CR4.DE is set; then, with DR7.GD set, a fault-class #DB with DR6.BD, GD
    /// cleared for the handler (Intel SDM Vol. 3B, 17.2.2 and 17.2.4; Vol. 2A, MOV—Move to/from Debug Registers).
    /// </summary>
    /// <returns>Whether the move may go ahead.</returns>
    private bool CheckDebugRegisterAccess(int index)
    {
        if (index is 4 or 5 && (_ctx.Cr4 & Cr4Bits.De) != 0)
        {
            RaiseFault(VectorInvalidOpcode);
            return false;
        }

        if ((_dr7 & Dr7Gd) != 0)
        {
            _dr6 |= Dr6Bd;
            _dr7 &= ~Dr7Gd;
            RaiseFault(VectorDebug);
            return false;
        }

        return true;
    }

    /// <summary>Recomputes which breakpoint kinds are armed and drops TLB entries that may cover newly watched pages.</summary>
    private void RecomputeBreakpoints()
    {
        bool code = false;
        bool data = false;
        bool io = false;
        for (int n = 0; n < 4; n++)
        {
            if (!BreakpointEnabled(n))
            {
                continue;
            }

            switch (BreakpointType(n))
            {
                case 0:
                    code = true;
                    break;
                case 2:
                    // R/W = 10 is an I/O breakpoint only with CR4.DE; without it the encoding is undefined and ignored here.
                    io |= (_ctx.Cr4 & Cr4Bits.De) != 0;
                    break;
                default:
                    data = true;
                    break;
            }
        }

        _codeBreakpointsArmed = code;
        _debugSlowPath = code || _debugTrapBits != 0 || _hostBreakpointsArmed || _hostWatchesArmed;
        _dataBreakpointsArmed = data;
        _ioBreakpointsArmed = io;
        _mmu.Flush();
    }

    /// <summary>Ln or Gn (DR7 bits 2n, 2n+1). Task switches do not clear the L bits here (no hardware task switching yet).</summary>
    private bool BreakpointEnabled(int n) => ((_dr7 >> (2 * n)) & 3) != 0;

    /// <summary>R/Wn: 00 instruction, 01 data writes, 10 I/O (CR4.DE), 11 data reads and writes.</summary>
    private int BreakpointType(int n) => (int)(_dr7 >> (16 + (4 * n))) & 3;

    /// <summary>LENn: 00 one byte, 01 two, 11 four, 10 eight (undefined before the Pentium 4; eight bytes as later CPUs).</summary>
    private uint BreakpointLength(int n) => ((_dr7 >> (18 + (4 * n))) & 3) switch
    {
        0 => 1,
        1 => 2,
        2 => 8,
        _ => 4,
    };

    /// <summary>
    /// Called before an instruction when TF, RF or an instruction breakpoint is set: raises the instruction-breakpoint #DB
    /// (a fault: the return address is the instruction, and the pushed RF is the current one, 0) unless RF suppresses it,
    /// then clears RF, which the processor does "at the start of the instruction after the check for code breakpoint"
    /// (Intel SDM Vol. 3B, 17.3.1.1).
    /// </summary>
    /// <returns>False when a #DB was delivered instead of running the instruction.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool BeginDebugInstruction()
    {
        if (_debugTrapBits != 0 && !_debugTrapHeld)
        {
            // Breakpoints hit while an interrupt or exception was delivered (its stack pushes, descriptor reads): the trap
            // is taken at this instruction boundary, before the handler's first instruction runs.
            DeliverDebugTrap(singleStep: false);
            return false;
        }

        if ((_ctx.Eflags & EflagsBits.Rf) == 0 && _codeBreakpointsArmed)
        {
            uint linear = (uint)CodeLinear;
            uint hits = 0;
            for (int n = 0; n < 4; n++)
            {
                // The address must be that of the instruction's first byte (prefixes included); LEN should be 00 and is
                // not otherwise interpreted (Intel SDM Vol. 3B, 17.2.5).
                if (BreakpointEnabled(n) && BreakpointType(n) == 0 && _debugAddress[n] == linear)
                {
                    hits |= 1u << n;
                }
            }

            if (hits != 0)
            {
                _dr6 |= hits;
                _ctx.InstructionStart = _ctx.Rip;
                DeliverInterrupt(VectorDebug, isException: true);
                return false;
            }
        }

        _ctx.Eflags &= ~EflagsBits.Rf;
        return true;
    }

    /// <summary>
    /// A data access that missed the TLB while data breakpoints are armed: records the breakpoints whose range it touches
    /// (a write matches R/W = 01 and 11, a read only 11) and ends the block so the trap follows this instruction.
    /// </summary>
    /// <returns>Whether the access's page holds a breakpoint relevant to this kind of access (then it must not be cached).</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool CheckDataBreakpoints(uint linear, int size, bool write)
    {
        bool watched = false;
        uint last = linear + (uint)size - 1;
        for (int n = 0; n < 4; n++)
        {
            int type = BreakpointType(n);
            if (!BreakpointEnabled(n) || type == 0 || type == 2 || (type == 1 && !write))
            {
                continue;
            }

            uint length = BreakpointLength(n);

            // The breakpoint address is aligned down to its length (Intel SDM Vol. 3B, 17.2.5), so a range never spans pages.
            uint start = _debugAddress[n] & ~(length - 1);
            if ((start >> PageShift) == (linear >> PageShift) || (start >> PageShift) == (last >> PageShift))
            {
                watched = true;
            }

            if (start <= last && linear <= start + length - 1)
            {
                _debugTrapBits |= 1u << n;
                _debugSlowPath = true;
                _exitBlock = true;
            }
        }

        return watched;
    }

    /// <summary>IN, OUT, INS and OUTS with CR4.DE: records I/O breakpoints whose port range the access touches (Intel SDM Vol. 3B, 17.2.4).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckIoBreakpoints(ushort port, int size)
    {
        uint last = (uint)port + (uint)size - 1;
        for (int n = 0; n < 4; n++)
        {
            if (!BreakpointEnabled(n) || BreakpointType(n) != 2)
            {
                continue;
            }

            uint length = BreakpointLength(n);
            uint start = (_debugAddress[n] & 0xFFFF) & ~(length - 1);
            if (start <= last && port <= start + length - 1)
            {
                _debugTrapBits |= 1u << n;
                _debugSlowPath = true;
                _exitBlock = true;
            }
        }
    }

    /// <summary>Between REP iterations: whether a breakpoint was hit (then RF is set for the frame of the trap in protected mode).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool StopRepForDebugTrap()
    {
        if (_debugTrapBits == 0)
        {
            // A host watch hit alone also ends the iteration run (its handler runs after the instruction), without RF: the
            // guest sees no trap (Cpu.HostWatches.cs).
            return _hostWatchHitCount != 0;
        }

        if ((_ctx.Cr0 & Cr0Bits.Pe) != 0)
        {
            _ctx.Eflags |= EflagsBits.Rf;
        }

        return true;
    }

    /// <summary>
    /// After an instruction completed: the trap-class #DB for single-step (DR6.BS) and data/I-O breakpoints (DR6.Bn), as one
    /// exception whose return address is the next instruction. After MOV SS / POP SS it waits one more instruction (Intel SDM
    /// Vol. 3A, 6.8.3): a single-step trap is dropped, as before, and breakpoint hits stay pending.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DeliverDebugTrap(bool singleStep)
    {
        if (_inhibitDebugTrap)
        {
            _inhibitDebugTrap = false;
            _debugTrapHeld = _debugTrapBits != 0;
            return;
        }

        uint bits = _debugTrapBits;
        if (singleStep && !_halted)
        {
            bits |= Dr6Bs;
        }

        if (bits == 0)
        {
            return;
        }

        _debugTrapBits = 0;
        _debugTrapHeld = false;
        _debugSlowPath = _codeBreakpointsArmed || _hostBreakpointsArmed || _hostWatchesArmed;
        _dr6 |= bits;

        // Hits by this delivery's own pushes set _debugTrapBits and _debugSlowPath again, for the next boundary.
        DeliverInterrupt(VectorDebug, isException: true);
    }

    /// <summary>
    /// A fault is about to be delivered: breakpoint hits of the aborted instruction are dropped and, in protected mode, RF is
    /// set in the EFLAGS image the handler receives so that returning to the instruction does not re-trigger its instruction
    /// breakpoint (Intel SDM Vol. 3B, 17.3.1.1: "for any fault-class exception except a debug exception generated in response
    /// to an instruction breakpoint, the value pushed for RF is 1").
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PrepareFaultDelivery()
    {
        _debugTrapBits = 0;
        _debugTrapHeld = false;
        _hostWatchHitCount = 0;
        _debugSlowPath = _codeBreakpointsArmed || _hostBreakpointsArmed || _hostWatchesArmed;
        if ((_ctx.Cr0 & Cr0Bits.Pe) != 0)
        {
            _ctx.Eflags |= EflagsBits.Rf;
        }
    }
}
