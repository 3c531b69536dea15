using System.Numerics;
using FsCheck.Xunit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// The 64-bit instruction forms (Decoding/InstructionTranslator.cs with bitness 64, the interpreter families at operand
/// size 8): REX.W arithmetic and shifts against references written from Intel SDM Vol. 2, RIP-relative addressing, the
/// zero-extension of 32-bit results, the REX byte registers, MOVSXD, CDQE/CQO, the instructions invalid in 64-bit mode,
/// and canonical-address faults.
/// </summary>
public sealed class Instructions64Tests
{
    private const uint CfBit = 1;
    private const uint ZfBit = 1 << 6;
    private const uint SfBit = 1 << 7;
    private const uint OfBit = 1 << 11;

    /// <summary>Runs 64-bit code that ends with PUSHFQ; POP R15; HLT and returns the harness.</summary>
    private static H RunWithFlags(Action<Assembler> body)
    {
        var m = new H();
        m.Run(a =>
        {
            body(a);
            a.pushfq();
            a.pop(r15);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        return m;
    }

    /// <summary>
    /// ADD/SUB/ADC/SBB/AND/OR/XOR/CMP r64, r64 against the SDM definitions computed with 128-bit integers: the result, and
    /// CF (unsigned carry/borrow out of bit 63), OF (signed overflow), ZF and SF.
    /// </summary>
    [Property(MaxTest = 60)]
    public void Alu_r64_r64_matches_the_reference(ulong x, ulong y, byte operation, bool carryIn)
    {
        int op = operation % 8;
        H m = RunWithFlags(a =>
        {
            a.mov(rax, x);
            a.mov(rbx, y);
            if (carryIn)
            {
                a.stc();
            }
            else
            {
                a.clc();
            }

            switch (op)
            {
                case 0: a.add(rax, rbx); break;
                case 1: a.sub(rax, rbx); break;
                case 2: a.adc(rax, rbx); break;
                case 3: a.sbb(rax, rbx); break;
                case 4: a.and(rax, rbx); break;
                case 5: a.or(rax, rbx); break;
                case 6: a.xor(rax, rbx); break;
                default: a.cmp(rax, rbx); break;
            }
        });

        ulong c = carryIn && op is 2 or 3 ? 1UL : 0;
        UInt128 wide = op switch
        {
            0 or 2 => (UInt128)x + y + c,
            1 or 3 or 7 => (UInt128)x - y - c,
            4 => x & y,
            5 => x | y,
            _ => x ^ y,
        };
        ulong result = (ulong)wide;
        bool cf = op is 0 or 2 ? (wide >> 64) != 0 : op is 1 or 3 or 7 && (UInt128)x < (UInt128)y + c;
        bool of = op switch
        {
            0 or 2 => (((x ^ result) & (y ^ result)) >> 63) != 0, // same-sign operands, different-sign result
            1 or 3 or 7 => (((x ^ y) & (x ^ result)) >> 63) != 0,
            _ => false,
        };
        uint flags = (uint)m.Reg(GeneralRegister.R15);
        Assert.Equal(op == 7 ? x : result, m.Reg(GeneralRegister.Rax));
        Assert.Equal(cf, (flags & CfBit) != 0);
        Assert.Equal(of, (flags & OfBit) != 0);
        Assert.Equal(result == 0, (flags & ZfBit) != 0);
        Assert.Equal((long)result < 0, (flags & SfBit) != 0);
    }

    /// <summary>SHL/SHR/SAR/ROL/ROR r64, CL: the count masked to 6 bits, the result and CF (Intel SDM Vol. 2B, SAL/SAR/SHL/SHR, ROL/ROR).</summary>
    [Property(MaxTest = 60)]
    public void Shifts_r64_mask_the_count_to_six_bits(ulong x, byte count, byte operation)
    {
        int op = operation % 5;
        H m = RunWithFlags(a =>
        {
            a.mov(rax, x);
            a.mov(cl, count);
            a.clc();
            switch (op)
            {
                case 0: a.shl(rax, cl); break;
                case 1: a.shr(rax, cl); break;
                case 2: a.sar(rax, cl); break;
                case 3: a.rol(rax, cl); break;
                default: a.ror(rax, cl); break;
            }
        });

        int n = count & 0x3F;
        ulong expected = op switch
        {
            0 => x << n,
            1 => x >> n,
            2 => (ulong)((long)x >> n),
            3 => BitOperations.RotateLeft(x, n),
            _ => BitOperations.RotateRight(x, n),
        };
        Assert.Equal(expected, m.Reg(GeneralRegister.Rax));
        if (n != 0)
        {
            bool cf = op switch
            {
                0 => ((x >> (64 - n)) & 1) != 0,
                1 => ((x >> (n - 1)) & 1) != 0,
                2 => (((long)x >> (n - 1)) & 1) != 0,
                3 => (expected & 1) != 0,
                _ => (expected >> 63) != 0,
            };
            Assert.Equal(cf, (m.Reg(GeneralRegister.R15) & CfBit) != 0);
        }
    }

    /// <summary>MUL/IMUL r64 (RDX:RAX = RAX * r64) and DIV/IDIV r64 (RDX:RAX / r64) against 128-bit arithmetic.</summary>
    [Property(MaxTest = 60)]
    public void Multiply_and_divide_r64_match_128_bit_arithmetic(ulong x, ulong y, ulong high, bool signed)
    {
        H m = RunWithFlags(a =>
        {
            a.mov(rax, x);
            a.mov(rbx, y);
            if (signed)
            {
                a.imul(rbx);
            }
            else
            {
                a.mul(rbx);
            }

            a.mov(r8, rax);
            a.mov(r9, rdx);
        });
        UInt128 product = signed ? (UInt128)((Int128)(long)x * (long)y) : (UInt128)x * y;
        Assert.Equal((ulong)product, m.Reg(GeneralRegister.R8));
        Assert.Equal((ulong)(product >> 64), m.Reg(GeneralRegister.R9));
        bool overflow = signed ? (Int128)(long)(ulong)product != (Int128)product : (product >> 64) != 0;
        Assert.Equal(overflow, (m.Reg(GeneralRegister.R15) & CfBit) != 0);

        // Unsigned division with a dividend whose quotient fits: RDX below the divisor.
        ulong divisor = y | 1;
        ulong highPart = high % divisor;
        var d = new H();
        d.Run(a =>
        {
            a.mov(rdx, highPart);
            a.mov(rax, x);
            a.mov(rcx, divisor);
            a.div(rcx);
            a.hlt();
        });
        UInt128 dividend = ((UInt128)highPart << 64) | x;
        Assert.Equal((ulong)(dividend / divisor), d.Reg(GeneralRegister.Rax));
        Assert.Equal((ulong)(dividend % divisor), d.Reg(GeneralRegister.Rdx));
    }

    [Fact]
    public void Div_r64_with_a_quotient_above_64_bits_is_de()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(rdx, 5);
            a.xor(eax, eax);
            a.mov(rcx, 5);
            a.div(rcx);
            a.hlt();
        });
        Assert.Equal(0, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void Thirty_two_bit_results_zero_the_upper_half_and_narrower_ones_keep_it()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(r8, -1L);
            a.mov(r8d, 0x1234); // MOV r32: upper half zeroed
            a.mov(rbx, -1L);
            a.add(ebx, 1); // ADD r32: result 0, upper half zeroed
            a.mov(rcx, -1L);
            a.mov(cx, 0x5678); // 16-bit: upper 48 bits kept
            a.mov(rdx, -1L);
            a.mov(dl, 0); // 8-bit: kept
            a.mov(rsi, -1L);
            a.xchg(esi, esi); // 87 F6: a 32-bit XCHG with itself still zero-extends (unlike the 90 NOP)
            a.mov(rdi, -1L);
            a.xor(eax, eax);
            a.cmovne(edi, eax); // condition false: the 32-bit destination is still written (zero-extended)
            a.hlt();
        });
        Assert.Equal(0x1234UL, m.Reg(GeneralRegister.R8));
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0xFFFF_FFFF_FFFF_5678UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0xFFFF_FFFF_FFFF_FF00UL, m.Reg(GeneralRegister.Rdx));
        Assert.Equal(0xFFFF_FFFFUL, m.Reg(GeneralRegister.Rsi));
        Assert.Equal(0xFFFF_FFFFUL, m.Reg(GeneralRegister.Rdi));
    }

    [Fact]
    public void Rex_byte_registers_are_the_low_bytes_of_rsp_rbp_rsi_rdi_and_r8_r15()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(rsi, 0x1111);
            a.mov(rdi, 0x2222);
            a.mov(r12, 0x3333);
            a.mov(rax, 0x4400);
            a.mov(sil, 0x55); // REX: SIL, not DH
            a.mov(dil, 0x66);
            a.mov(r12b, 0x77);
            a.mov(ah, 0x12); // no REX: AH
            a.hlt();
        });
        Assert.Equal(0x1155UL, m.Reg(GeneralRegister.Rsi));
        Assert.Equal(0x2266UL, m.Reg(GeneralRegister.Rdi));
        Assert.Equal(0x3377UL, m.Reg(GeneralRegister.R12));
        Assert.Equal(0x1200UL, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void Rip_relative_operands_address_from_the_next_instruction()
    {
        var m = new H();
        m.Run(a =>
        {
            var data = a.CreateLabel();
            var after = a.CreateLabel();
            a.mov(rax, __qword_ptr[data]); // RIP-relative load
            a.lea(rbx, __[data]);
            a.add(__qword_ptr[data], 1); // RIP-relative read-modify-write
            a.mov(rcx, __qword_ptr[data]);
            a.jmp(after);
            a.Label(ref data);
            a.dq(0x0102_0304_0506_0708);
            a.Label(ref after);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x0102_0304_0506_0708UL, m.Reg(GeneralRegister.Rax));
        Assert.Equal(0x0102_0304_0506_0709UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(m.Reg(GeneralRegister.Rbx), m.Reg(GeneralRegister.Rbx) & 0xFFFFF); // within the code page
        Assert.Equal(0x0102_0304_0506_0709UL, m.Qword(m.Reg(GeneralRegister.Rbx)));
    }

    [Fact]
    public void Movsxd_cdqe_cqo_and_mov_r64_imm64()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(ecx, 0x8000_0001);
            a.movsxd(r11, ecx);
            a.mov(eax, 0xFFFF_FFFE);
            a.cdqe();
            a.mov(rsi, rax);
            a.cqo();
            a.mov(r10, 0x7FFF_FFFF_FFFF_FFFF);
            a.hlt();
        });
        Assert.Equal(0xFFFF_FFFF_8000_0001UL, m.Reg(GeneralRegister.R11));
        Assert.Equal(unchecked((ulong)-2L), m.Reg(GeneralRegister.Rsi));
        Assert.Equal(ulong.MaxValue, m.Reg(GeneralRegister.Rdx));
        Assert.Equal(0x7FFF_FFFF_FFFF_FFFFUL, m.Reg(GeneralRegister.R10));
    }

    [Fact]
    public void Push_pop_call_and_ret_move_rsp_by_eight_and_66h_push_by_two()
    {
        var m = new H();
        m.Run(a =>
        {
            var function = a.CreateLabel();
            a.mov(rsp, 0x7F000);
            a.mov(rax, 0x1122_3344_5566_7788);
            a.push(rax);
            a.mov(rbx, rsp);
            a.pop(rcx);
            a.call(function);
            a.push(ax); // 66h: 16-bit push
            a.mov(rsi, rsp);
            a.hlt();
            a.Label(ref function);
            a.mov(rdx, __qword_ptr[rsp]);
            a.ret();
        });
        Assert.Equal(0x7EFF8UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x1122_3344_5566_7788UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x7EFFEUL, m.Reg(GeneralRegister.Rsi));
        Assert.InRange(m.Reg(GeneralRegister.Rdx), (ulong)H.CodeAddress, (ulong)H.CodeAddress + 0x100); // the return address
    }

    [Fact]
    public void Rep_movsq_and_stosq_use_rsi_rdi_rcx()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(rdi, H.DataAddress);
            a.mov(rax, 0x0A0B_0C0D_0E0F_1011);
            a.mov(rcx, 4);
            a.rep.stosq();
            a.mov(rsi, H.DataAddress);
            a.mov(rdi, H.DataAddress + 0x100);
            a.mov(rcx, 4);
            a.rep.movsq();
            a.hlt();
        });
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(H.DataAddress + 0x120UL, m.Reg(GeneralRegister.Rdi));
        for (uint i = 0; i < 4; i++)
        {
            Assert.Equal(0x0A0B_0C0D_0E0F_1011UL, m.Qword(H.DataAddress + 0x100 + (i * 8)));
        }
    }

    [Fact]
    public void Cmpxchg16b_compares_rdx_rax_and_needs_16_byte_alignment()
    {
        var m = new H();
        m.Memory.WriteQuadWord(new Virt.Memory.PhysicalAddress(H.DataAddress), 1);
        m.Run(a =>
        {
            a.mov(r8, H.DataAddress);
            a.mov(rax, __qword_ptr[r8]);
            a.mov(rdx, __qword_ptr[r8 + 8]);
            a.mov(rbx, 0x1111);
            a.mov(rcx, 0x2222);
            a.cmpxchg16b(__xmmword_ptr[r8]);
            a.setz(r9b);
            a.cmpxchg16b(__xmmword_ptr[r8 + 8]); // misaligned: #GP(0)
            a.hlt();
        });
        Assert.Equal(1UL, m.Reg(GeneralRegister.R9));
        Assert.Equal(0x1111UL, m.Qword(H.DataAddress));
        Assert.Equal(0x2222UL, m.Qword(H.DataAddress + 8));
        Assert.Equal(13, m.Cpu.LastExceptionVector);
    }

    /// <summary>
    /// Opcodes that are invalid in 64-bit mode (Intel SDM Vol. 2, Appendix A, "i64"): PUSH/POP ES, CS, SS, DS, DAA, DAS,
    /// AAA, AAS, PUSHA, POPA, BOUND (62h is EVEX; an invalid EVEX form here), INTO, AAM, AAD, SALC, far CALL/JMP ptr16:32,
    /// and 82h. Each raises #UD at the opcode.
    /// </summary>
    [Theory]
    [InlineData(new byte[] { 0x06 })]
    [InlineData(new byte[] { 0x07 })]
    [InlineData(new byte[] { 0x0E })]
    [InlineData(new byte[] { 0x16 })]
    [InlineData(new byte[] { 0x17 })]
    [InlineData(new byte[] { 0x1E })]
    [InlineData(new byte[] { 0x1F })]
    [InlineData(new byte[] { 0x27 })]
    [InlineData(new byte[] { 0x2F })]
    [InlineData(new byte[] { 0x37 })]
    [InlineData(new byte[] { 0x3F })]
    [InlineData(new byte[] { 0x60 })]
    [InlineData(new byte[] { 0x61 })]
    [InlineData(new byte[] { 0xCE })]
    [InlineData(new byte[] { 0xD4, 0x0A })]
    [InlineData(new byte[] { 0xD5, 0x0A })]
    [InlineData(new byte[] { 0xD6 })]
    [InlineData(new byte[] { 0x9A, 0, 0, 0, 0, 0x08, 0 })]
    [InlineData(new byte[] { 0xEA, 0, 0, 0, 0, 0x08, 0 })]
    [InlineData(new byte[] { 0x82, 0xC0, 0x01 })]
    public void Instructions_invalid_in_64_bit_mode_raise_ud(byte[] bytes)
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(rbx, 1);
            a.db(bytes);
            a.mov(rbx, 2);
            a.hlt();
        });
        Assert.Equal(6, m.Cpu.LastExceptionVector);
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rbx));

        // The frame's RIP is the faulting opcode: CS:RIP, RFLAGS, RSP, SS at the 16-byte aligned RSP.
        ulong rsp = m.Reg(GeneralRegister.Rsp);
        Assert.Equal(H.CodeAddress + 10UL, m.Qword(rsp)); // after the 10-byte MOV RBX, imm64
    }

    [Fact]
    public void Opcodes_40h_4Fh_are_rex_prefixes_and_63h_is_movsxd()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(eax, 5);
            a.db(0x48, 0x05, 0x10, 0x00, 0x00, 0x00); // REX.W ADD RAX, 10h (not DEC EAX; ADD EAX, ...)
            a.mov(ecx, 0xFFFF_FFF0);
            a.db(0x48, 0x63, 0xD1); // MOVSXD RDX, ECX (ARPL outside 64-bit mode)
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x15UL, m.Reg(GeneralRegister.Rax));
        Assert.Equal(unchecked((ulong)-16L), m.Reg(GeneralRegister.Rdx));
    }

    [Fact]
    public void Lahf_in_64_bit_mode_follows_cpuid()
    {
        var with = new H();
        with.Run(a =>
        {
            a.stc();
            a.lahf();
            a.hlt();
        });
        Assert.Equal(-1, with.Cpu.LastExceptionVector);
        Assert.Equal(1UL, (with.Reg(GeneralRegister.Rax) >> 8) & 1);

        var without = new H(CpuidModel.Default with { ExtendedFeaturesEcx = 0 });
        without.Run(a =>
        {
            a.lahf();
            a.hlt();
        });
        Assert.Equal(6, without.Cpu.LastExceptionVector);
    }

    [Theory]
    [InlineData(false, 13)] // a data reference through DS: #GP(0)
    [InlineData(true, 12)] // through SS (RBP base): #SS(0)
    public void Non_canonical_data_addresses_fault_with_gp_or_ss(bool stack, int vector)
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(rbx, 0x0000_8000_0000_0000); // bit 47 set, 63:48 clear
            if (stack)
            {
                a.mov(rbp, rbx);
                a.mov(rax, __qword_ptr[rbp]);
            }
            else
            {
                a.mov(rax, __qword_ptr[rbx]);
            }

            a.hlt();
        });
        Assert.Equal(vector, m.Cpu.LastExceptionVector);
        Assert.Equal(0UL, m.Qword(m.Reg(GeneralRegister.Rsp))); // error code 0
        Assert.Equal(H.CodeAddress + (stack ? 13UL : 10UL), m.Qword(m.Reg(GeneralRegister.Rsp) + 8)); // RIP of the faulting instruction
    }

    [Fact]
    public void A_push_to_a_non_canonical_stack_is_ss_and_a_jump_to_a_non_canonical_target_is_gp()
    {
        // #SS is delivered on IST1: the interrupted stack is the non-canonical one (without IST it would fault again).
        var m = new H();
        m.Load(a =>
        {
            a.mov(rsp, 0x8000_0000_0000_0010);
            a.push(rax);
            a.hlt();
        });
        m.SetGate(12, H.HandlerAddress(12), ist: 1);
        m.Cpu.Run(10_000);
        Assert.Equal(12, m.Cpu.LastExceptionVector);
        Assert.Equal((H.Ist1Top & ~0xFUL) - 48, m.Reg(GeneralRegister.Rsp));
        Assert.Equal(0x8000_0000_0000_0010UL, m.Qword(m.Reg(GeneralRegister.Rsp) + 32)); // the pushed RSP

        var j = new H();
        j.Run(a =>
        {
            a.mov(rax, 0x0001_0000_0000_0000);
            a.jmp(rax);
        });
        Assert.Equal(13, j.Cpu.LastExceptionVector);
        Assert.Equal(H.CodeAddress + 10UL, j.Qword(j.Reg(GeneralRegister.Rsp) + 8)); // above the error code: the RIP of the JMP, which did not retire
    }

    [Fact]
    public void The_high_half_alias_reads_the_same_memory()
    {
        var m = new H();
        m.Memory.WriteQuadWord(new Virt.Memory.PhysicalAddress(H.DataAddress), 0xDEAD_BEEF_CAFE_F00D);
        m.Run(a =>
        {
            a.mov(rbx, H.HighHalf + H.DataAddress);
            a.mov(rax, __qword_ptr[rbx]);
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0xDEAD_BEEF_CAFE_F00DUL, m.Reg(GeneralRegister.Rax));
    }
}
