using System.Runtime.CompilerServices;

namespace Virt.Cpu;

/// <summary>
/// The semantics of the two-operand integer operations (Intel SDM Vol. 2, ADD, ADC, SUB, SBB, CMP, AND, OR, XOR, TEST),
/// each written once as a struct the interpreter's generic <see cref="ExecuteAlu"/> is instantiated with: the result and
/// the lazy-flag record every flag is later derived from (Cpu.Flags.cs). Every operand form (register, flat memory,
/// generic) runs the same one.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>One two-operand operation.</summary>
    private interface IAluOperation
    {
        /// <summary>Whether the result is written to the destination (false for CMP and TEST).</summary>
        static abstract bool WritesBack { get; }

        /// <summary>Computes the result and records the flags.</summary>
        static abstract ulong Compute(Cpu cpu, ulong dst, ulong src, int size);
    }

    /// <summary>ADD: CF, OF, AF from the sum.</summary>
    private readonly struct AddOperation : IAluOperation
    {
        public static bool WritesBack => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Compute(Cpu cpu, ulong dst, ulong src, int size)
        {
            ulong res = dst + src;
            cpu.SetLazy(LazyOp.Add, dst, src, res, size);
            return res;
        }
    }

    /// <summary>ADC: ADD with the carry-in (kept for AF and OF).</summary>
    private readonly struct AdcOperation : IAluOperation
    {
        public static bool WritesBack => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Compute(Cpu cpu, ulong dst, ulong src, int size)
        {
            bool carry = cpu.GetCarry();
            ulong res = dst + src + (carry ? 1UL : 0);
            cpu._ctx.LazyCarryIn = carry;
            cpu.SetLazy(LazyOp.Adc, dst, src, res, size);
            return res;
        }
    }

    /// <summary>SUB: CF is the borrow.</summary>
    private readonly struct SubOperation : IAluOperation
    {
        public static bool WritesBack => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Compute(Cpu cpu, ulong dst, ulong src, int size)
        {
            ulong res = dst - src;
            cpu.SetLazy(LazyOp.Sub, dst, src, res, size);
            return res;
        }
    }

    /// <summary>SBB: SUB with the borrow-in.</summary>
    private readonly struct SbbOperation : IAluOperation
    {
        public static bool WritesBack => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Compute(Cpu cpu, ulong dst, ulong src, int size)
        {
            bool carry = cpu.GetCarry();
            ulong res = dst - src - (carry ? 1UL : 0);
            cpu._ctx.LazyCarryIn = carry;
            cpu.SetLazy(LazyOp.Sbb, dst, src, res, size);
            return res;
        }
    }

    /// <summary>CMP: the flags of SUB, no write-back.</summary>
    private readonly struct CmpOperation : IAluOperation
    {
        public static bool WritesBack => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Compute(Cpu cpu, ulong dst, ulong src, int size)
        {
            ulong res = dst - src;
            cpu.SetLazy(LazyOp.Sub, dst, src, res, size);
            return res;
        }
    }

    /// <summary>AND: CF and OF clear, SF, ZF, PF from the result.</summary>
    private readonly struct AndOperation : IAluOperation
    {
        public static bool WritesBack => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Compute(Cpu cpu, ulong dst, ulong src, int size)
        {
            ulong res = dst & src;
            cpu.SetLogicFlags(res, size);
            return res;
        }
    }

    /// <summary>OR.</summary>
    private readonly struct OrOperation : IAluOperation
    {
        public static bool WritesBack => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Compute(Cpu cpu, ulong dst, ulong src, int size)
        {
            ulong res = dst | src;
            cpu.SetLogicFlags(res, size);
            return res;
        }
    }

    /// <summary>XOR.</summary>
    private readonly struct XorOperation : IAluOperation
    {
        public static bool WritesBack => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Compute(Cpu cpu, ulong dst, ulong src, int size)
        {
            ulong res = dst ^ src;
            cpu.SetLogicFlags(res, size);
            return res;
        }
    }

    /// <summary>TEST: the flags of AND, no write-back.</summary>
    private readonly struct TestOperation : IAluOperation
    {
        public static bool WritesBack => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Compute(Cpu cpu, ulong dst, ulong src, int size)
        {
            ulong res = dst & src;
            cpu.SetLogicFlags(res, size);
            return res;
        }
    }
}
