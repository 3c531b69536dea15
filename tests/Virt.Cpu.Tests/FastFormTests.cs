using System.Numerics;
using FsCheck.Xunit;
using Iced.Intel;
using Virt.Cpu.Tests.ProtectedMode;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>
/// The specialised 32-bit forms chosen at translation (Cpu.FastMemory.cs, Cpu.FastRegister.cs): memory loads, stores and
/// ALU-from-memory with 32-bit addressing, register shifts by an immediate and two/three-operand IMUL. Each is checked
/// against the register form the ALU properties already verify, or against the SDM's definition, including the slow paths
/// (page-crossing accesses, segment limits, read-only segments).
/// </summary>
public sealed class FastFormTests
{
    private const uint Cf = 1;
    private const uint Pf = 4;
    private const uint Zf = 0x40;
    private const uint Sf = 0x80;
    private const uint Of = 0x800;
    private const uint ArithmeticStatus = 0x8D5;
    private const uint Data = 0x8000;

    private readonly CpuHarness _machine = new();

    public enum AluOp
    {
        Add,
        Sub,
        Cmp,
        And,
        Or,
        Xor,
    }

    [Property(MaxTest = 200)]
    public void Alu_register_from_memory_equals_the_register_form(AluOp op, uint a, uint b, byte displacementSelector, byte shape)
    {
        a = Widen(a, shape);
        b = Widen(b, (byte)(shape >> 2));
        // Displacements near the end of a page make some accesses cross it (the slow path); the rest hit the TLB.
        uint address = Data + 0xFF0 + (uint)(displacementSelector % 16);
        (ulong memoryResult, uint memoryFlags) = RunAlu(op, a, b, address, fromMemory: true);
        (ulong registerResult, uint registerFlags) = RunAlu(op, a, b, address, fromMemory: false);
        Assert.Equal(registerResult, memoryResult);
        Assert.Equal(registerFlags, memoryFlags);
    }

    [Property(MaxTest = 200)]
    public void Cmp_memory_with_register_or_immediate_equals_the_register_form(uint a, uint b, bool immediate, byte shape)
    {
        a = Widen(a, shape);
        b = Widen(b, (byte)(shape >> 2));
        _machine.Memory.WriteDoubleWord(new PhysicalAddress(Data), a);
        _machine.Run(asm =>
        {
            asm.mov(ebx, b);
            asm.mov(esi, Data - 0x10);
            if (immediate)
            {
                asm.cmp(__dword_ptr[esi + 0x10], b);
            }
            else
            {
                asm.cmp(__dword_ptr[esi + 0x10], ebx);
            }

            asm.hlt();
        });
        uint memoryFlags = _machine.Cpu.Flags & ArithmeticStatus;
        _machine.Run(asm =>
        {
            asm.mov(eax, a);
            asm.mov(ebx, b);
            asm.cmp(eax, ebx);
            asm.hlt();
        });
        Assert.Equal(_machine.Cpu.Flags & ArithmeticStatus, memoryFlags);
    }

    [Property(MaxTest = 300)]
    public void Read_modify_write_memory_equals_the_register_form(uint a, uint b, byte opSelector, bool carryIn, byte shape)
    {
        a = Widen(a, shape);
        b = Widen(b, (byte)(shape >> 2));
        int op = opSelector % 5;
        uint address = Data + 0xFF8 + (uint)(shape % 8); // some cross into the next page
        _machine.Memory.WriteDoubleWord(new PhysicalAddress(address), a);
        _machine.Run(asm =>
        {
            asm.mov(ebx, b);
            asm.mov(esi, address);
            EmitCarry(asm, carryIn);
            AssemblerMemoryOperand m = __dword_ptr[esi];
            switch (op)
            {
                case 0: asm.add(m, ebx); break;
                case 1: asm.sub(m, ebx); break;
                case 2: asm.add(m, (int)b); break;
                case 3: asm.inc(m); break;
                default: asm.dec(m); break;
            }

            asm.hlt();
        });
        uint memoryResult = _machine.Memory.ReadDoubleWord(new PhysicalAddress(address));
        uint memoryFlags = _machine.Cpu.Flags & ArithmeticStatus;
        _machine.Run(asm =>
        {
            asm.mov(eax, a);
            asm.mov(ebx, b);
            EmitCarry(asm, carryIn);
            switch (op)
            {
                case 0: asm.add(eax, ebx); break;
                case 1: asm.sub(eax, ebx); break;
                case 2: asm.add(eax, (int)b); break;
                case 3: asm.inc(eax); break;
                default: asm.dec(eax); break;
            }

            asm.hlt();
        });
        Assert.Equal((uint)_machine.Reg(GeneralRegister.Rax), memoryResult);
        Assert.Equal(_machine.Cpu.Flags & ArithmeticStatus, memoryFlags);
    }

    private static void EmitCarry(Assembler asm, bool carry)
    {
        if (carry)
        {
            asm.stc();
        }
        else
        {
            asm.clc();
        }
    }

    [Property(MaxTest = 200)]
    public void Loads_extend_and_stores_write_what_the_sdm_says(uint value, byte offsetSelector, uint stored, byte shape)
    {
        value = Widen(value, shape);
        stored = Widen(stored, (byte)(shape >> 2));
        // Offsets FFCh-FFFh cross into the next page.
        uint address = Data + 0xFF8 + (uint)(offsetSelector % 8);
        _machine.Memory.WriteDoubleWord(new PhysicalAddress(address), value);
        _machine.Run(asm =>
        {
            asm.mov(ebx, address);
            asm.mov(eax, __dword_ptr[ebx]);
            asm.movzx(ecx, __byte_ptr[ebx]);
            asm.movzx(edx, __word_ptr[ebx]);
            asm.movsx(esi, __byte_ptr[ebx]);
            asm.movsx(edi, __word_ptr[ebx]);
            asm.mov(ebp, stored);
            asm.mov(__dword_ptr[ebx + 0x100], ebp);
            asm.mov(__dword_ptr[ebx + 0x200], 0x1234_5678);
            asm.mov(__word_ptr[ebx + 0x300], bp);
            asm.mov(__word_ptr[ebx + 0x302], 0xBEEF);
            asm.mov(__byte_ptr[ebx + 0x304], dh);
            asm.mov(__byte_ptr[ebx + 0x305], 0x5A);
            asm.mov(ebp, ebx);
            asm.mov(bh, __byte_ptr[ebp + 1]);
            asm.mov(bl, __byte_ptr[ebp + 2]);
            asm.hlt();
        });
        uint wordStores = _machine.Memory.ReadDoubleWord(new PhysicalAddress(address + 0x300));
        ushort byteStores = _machine.Memory.ReadWord(new PhysicalAddress(address + 0x304));
        Assert.Equal(value, (uint)_machine.Reg(GeneralRegister.Rax));
        Assert.Equal(value & 0xFF, (uint)_machine.Reg(GeneralRegister.Rcx));
        Assert.Equal(value & 0xFFFF, (uint)_machine.Reg(GeneralRegister.Rdx));
        Assert.Equal((uint)(sbyte)value, (uint)_machine.Reg(GeneralRegister.Rsi));
        Assert.Equal((uint)(short)value, (uint)_machine.Reg(GeneralRegister.Rdi));
        Assert.Equal(stored, _machine.Memory.ReadDoubleWord(new PhysicalAddress(address + 0x100)));
        Assert.Equal(0x1234_5678u, _machine.Memory.ReadDoubleWord(new PhysicalAddress(address + 0x200)));
        Assert.Equal((stored & 0xFFFF) | 0xBEEF_0000u, wordStores);
        Assert.Equal((ushort)(((value >> 8) & 0xFF) | 0x5A00), byteStores);

        // MOV BH then BL: the high and low bytes of EBX, the upper half of EBX (the address) kept.
        Assert.Equal((address & 0xFFFF_0000) | (((value >> 8) & 0xFF) << 8) | ((value >> 16) & 0xFF), (uint)_machine.Reg(GeneralRegister.Rbx));
    }

    [Property(MaxTest = 300)]
    public void Register_shifts_by_an_immediate_match_one_bit_steps(uint value, byte countSelector, byte opSelector, bool carryIn, byte shape)
    {
        value = Widen(value, shape);
        int count = countSelector % 32;
        int op = opSelector % 3;
        _machine.Run(asm =>
        {
            asm.mov(edx, value);
            if (carryIn)
            {
                asm.stc();
            }
            else
            {
                asm.clc();
            }

            switch (op)
            {
                case 0: asm.shl(edx, (byte)count); break;
                case 1: asm.shr(edx, (byte)count); break;
                default: asm.sar(edx, (byte)count); break;
            }

            asm.hlt();
        });
        uint flags = _machine.Cpu.Flags;
        uint result = (uint)_machine.Reg(GeneralRegister.Rdx);

        // Intel SDM Vol. 2B, SAL/SAR/SHL/SHR operation: count times a one-bit step, CF the last bit shifted out.
        uint expected = value;
        bool cf = carryIn;
        for (int i = 0; i < count; i++)
        {
            if (op == 0)
            {
                cf = (expected & 0x8000_0000) != 0;
                expected <<= 1;
            }
            else
            {
                cf = (expected & 1) != 0;
                expected = op == 1 ? expected >> 1 : (uint)((int)expected >> 1);
            }
        }

        Assert.Equal(expected, result);
        Assert.Equal(cf, (flags & Cf) != 0);
        if (count == 0)
        {
            return;
        }

        if (count == 1)
        {
            bool of = op switch { 0 => ((expected >> 31) != 0) != cf, 1 => (value >> 31) != 0, _ => false };
            Assert.Equal(of, (flags & Of) != 0);
        }

        uint szp = (expected == 0 ? Zf : 0) | ((expected >> 31) != 0 ? Sf : 0) | ((BitOperations.PopCount(expected & 0xFF) & 1) == 0 ? Pf : 0);
        Assert.Equal(szp, flags & (Sf | Zf | Pf));
    }

    [Property(MaxTest = 200)]
    public void Imul_register_forms_keep_the_low_half_and_flag_overflow(uint a, uint b, bool threeOperand, byte shape)
    {
        a = Widen(a, shape);
        b = Widen(b, (byte)(shape >> 2));
        _machine.Run(asm =>
        {
            asm.mov(ecx, a);
            asm.mov(ebx, b);
            if (threeOperand)
            {
                asm.imul(ecx, ebx, (int)a);
            }
            else
            {
                asm.imul(ecx, ebx);
            }

            asm.hlt();
        });

        // Intel SDM Vol. 2A, IMUL: the product truncated to 32 bits; CF = OF = it differs from the full signed product.
        BigInteger product = (BigInteger)(int)b * (int)a;
        uint low = (uint)(product & uint.MaxValue);
        Assert.Equal(low, (uint)_machine.Reg(GeneralRegister.Rcx));
        Assert.Equal(product != (int)low ? Cf | Of : 0, _machine.Cpu.Flags & (Cf | Of));
    }

    [Fact]
    public void Fast_store_to_a_read_only_segment_is_gp_and_writes_nothing()
    {
        var m = new ProtectedModeHarness();
        m.InstallGate(13);
        m.Memory.WriteDoubleWord(new PhysicalAddress(0x20010), 0xCAFEF00D);
        m.Run(a =>
        {
            a.mov(ax, ProtectedModeHarness.ReadOnlyData);
            a.mov(fs, ax);
            a.mov(eax, __dword_ptr.fs[0x10]); // readable
            a.mov(__dword_ptr.fs[0x10], ebx); // read-only: #GP(0) (Intel SDM Vol. 3A, 5.5)
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0xCAFEF00Du, (uint)m.Reg(GeneralRegister.Rax));
        Assert.Equal(0xCAFEF00Du, m.Dword(0x20010));
    }

    [Fact]
    public void Fast_load_beyond_the_limit_faults_and_leaves_the_destination()
    {
        var m = new ProtectedModeHarness();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ecx, 0x1111_1111);
            a.mov(ax, ProtectedModeHarness.ReadOnlyData);
            a.mov(fs, ax);
            a.mov(ebx, 0xFFD);
            a.movzx(ecx, __word_ptr.fs[ebx + 2]); // bytes FFFh-1000h: beyond the limit FFFh
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0x1111_1111u, (uint)m.Reg(GeneralRegister.Rcx));
    }

    /// <summary>FsCheck's integers are small; spread some over all 32 bits and the sign boundary.</summary>
    private static uint Widen(uint x, byte shape) => (shape % 4) switch
    {
        0 => x,
        1 => x * 0x9E37_79B9,
        2 => ~x,
        _ => 0x8000_0000 ^ (x * 0x85EB_CA6B),
    };

    private (ulong Result, uint Flags) RunAlu(AluOp op, uint a, uint b, uint address, bool fromMemory)
    {
        _machine.Memory.WriteDoubleWord(new PhysicalAddress(address), b);
        _machine.Run(asm =>
        {
            asm.mov(eax, a);
            asm.mov(ebx, b);
            asm.mov(edi, address);
            if (fromMemory)
            {
                AssemblerMemoryOperand m = __dword_ptr[edi];
                switch (op)
                {
                    case AluOp.Add: asm.add(eax, m); break;
                    case AluOp.Sub: asm.sub(eax, m); break;
                    case AluOp.Cmp: asm.cmp(eax, m); break;
                    case AluOp.And: asm.and(eax, m); break;
                    case AluOp.Or: asm.or(eax, m); break;
                    default: asm.xor(eax, m); break;
                }
            }
            else
            {
                switch (op)
                {
                    case AluOp.Add: asm.add(eax, ebx); break;
                    case AluOp.Sub: asm.sub(eax, ebx); break;
                    case AluOp.Cmp: asm.cmp(eax, ebx); break;
                    case AluOp.And: asm.and(eax, ebx); break;
                    case AluOp.Or: asm.or(eax, ebx); break;
                    default: asm.xor(eax, ebx); break;
                }
            }

            asm.hlt();
        });
        return (_machine.Reg(GeneralRegister.Rax), _machine.Cpu.Flags & ArithmeticStatus);
    }
}
